import type { Queryable } from "../../db/create-db.js";
import { NotFoundError } from "../../errors.js";
import { loadReviewFiles } from "./load-review-files.js";
import type { PullRequestFilesSource } from "./pull-request-files-source.js";
import type { ReviewDetail } from "./reviews.schema.js";
import { findReview, type Review } from "./reviews.store.js";

export async function getReview(db: Queryable, orgId: string, id: number): Promise<Review> {
  const review = await findReview(db, orgId, id);
  if (!review) throw new NotFoundError(`Review ${id} not found`);
  return review;
}

/** A review with the pull request's changed files at its head SHA. */
export async function getReviewDetail(db: Queryable, filesSource: PullRequestFilesSource | undefined, orgId: string, id: number): Promise<ReviewDetail> {
  const review = await getReview(db, orgId, id);
  const { files, error } = await loadReviewFiles(db, filesSource, review);
  return { ...review, files, ...(error ? { files_error: error } : {}) };
}
