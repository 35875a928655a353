import type { Queryable } from "../../db/create-db.js";
import { groupBy } from "../../lib/group-by.js";
import type { Review, ReviewStatus } from "./reviews.schema.js";

export type { Review };

const COLUMNS = [
  "id",
  "org_id",
  "team_id",
  "status",
  "repository",
  "pull_number",
  "pr_title",
  "head_sha",
  "html_url",
  "installation_id",
  "task_id",
  "linked_task_ids",
  "assignee_id",
  "verdict",
  "summary",
  "comments",
  "superseded_by",
  "created_at",
  "updated_at",
  "submitted_at",
] as const;

/** The columns qualified, for statements written by hand over `reviews r`. */
const RETURNING_REVIEW = COLUMNS.map((column) => `r.${column}`).join(", ");

/** The reviews of `rows` in the order of `ids`. */
function inOrderOf(ids: number[], rows: unknown[]): Review[] {
  const byId = new Map(rows.map((row) => [(row as Review).id, toReview(row)]));
  return ids.map((id) => byId.get(id)!);
}

export type NewReview = Pick<Review, "org_id" | "team_id" | "repository" | "pull_number" | "pr_title" | "head_sha" | "html_url" | "installation_id" | "linked_task_ids">;

/** Inserts reviews (pending, no task yet) in one statement; returns them in the order given. */
export async function insertReviews(db: Queryable, reviews: NewReview[]): Promise<Review[]> {
  if (reviews.length === 0) return [];
  const rows = (await db("reviews").insert(reviews).returning(COLUMNS)) as { id: number }[];
  // Identity ids are drawn in the order of the VALUES list.
  return rows.sort((a, b) => a.id - b.id).map(toReview);
}

/** Links each review to its review task, in one statement; returns the reviews in the order given. */
export async function setReviewTasks(db: Queryable, links: { id: number; task_id: number }[]): Promise<Review[]> {
  if (links.length === 0) return [];
  const { rows } = (await db.raw(
    `UPDATE reviews r SET task_id = v.task_id, updated_at = now()
       FROM unnest(?::int[], ?::int[]) AS v(id, task_id)
      WHERE r.id = v.id
      RETURNING ${RETURNING_REVIEW}`,
    [links.map((link) => link.id), links.map((link) => link.task_id)],
  )) as { rows: unknown[] };
  return inOrderOf(
    links.map((link) => link.id),
    rows,
  );
}

/** Ends reviews (outdated or cancelled, with the review that replaces each, if any) in one statement; returns them in the order given. */
export async function endReviews(db: Queryable, ends: { id: number; status: "outdated" | "cancelled"; superseded_by?: number }[]): Promise<Review[]> {
  if (ends.length === 0) return [];
  const { rows } = (await db.raw(
    `UPDATE reviews r SET status = v.status, superseded_by = coalesce(v.superseded_by, r.superseded_by), updated_at = now()
       FROM unnest(?::int[], ?::text[], ?::int[]) AS v(id, status, superseded_by)
      WHERE r.id = v.id
      RETURNING ${RETURNING_REVIEW}`,
    // A null in an array of ids is PostgreSQL's NULL; knex's binding type has no word for it.
    [ends.map((end) => end.id), ends.map((end) => end.status), ends.map((end) => end.superseded_by ?? null) as number[]],
  )) as { rows: unknown[] };
  return inOrderOf(
    ends.map((end) => end.id),
    rows,
  );
}

/** One review of an org; `forUpdate` locks it for the rest of the transaction. */
export async function findReview(db: Queryable, orgId: string, id: number, options: { forUpdate?: boolean } = {}): Promise<Review | undefined> {
  const q = db("reviews").select(COLUMNS).where({ org_id: orgId, id }).first();
  if (options.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toReview(row) : undefined;
}

export async function updateReview(
  db: Queryable,
  id: number,
  changes: Partial<Pick<Review, "status" | "assignee_id" | "task_id" | "verdict" | "summary" | "comments" | "superseded_by" | "submitted_at">>,
): Promise<Review> {
  const values: Record<string, unknown> = { ...changes, updated_at: db.fn.now() };
  if (changes.comments) values.comments = JSON.stringify(changes.comments);
  const [row] = await db("reviews").where({ id }).update(values).returning(COLUMNS);
  return toReview(row);
}

export interface ReviewFilter {
  org_id: string;
  status?: ReviewStatus;
  assignee_id?: string;
  team_id?: string;
  repository?: string;
  pull_number?: number;
  /** Keyset: only ids below this one. */
  before_id?: number;
  limit: number;
}

/** Reviews newest first (by id), filtered. */
export async function listReviews(db: Queryable, filter: ReviewFilter): Promise<Review[]> {
  const q = db("reviews").select(COLUMNS).where({ org_id: filter.org_id }).orderBy("id", "desc").limit(filter.limit);
  if (filter.status) q.where("status", filter.status);
  if (filter.assignee_id) q.where("assignee_id", filter.assignee_id);
  if (filter.team_id) q.where("team_id", filter.team_id);
  if (filter.repository) q.whereRaw("lower(repository) = lower(?)", [filter.repository]);
  if (filter.pull_number) q.where("pull_number", filter.pull_number);
  if (filter.before_id) q.where("id", "<", filter.before_id);
  return ((await q) as unknown[]).map(toReview);
}

export interface PullRequestRef {
  org_id: string;
  repository: string;
  pull_number: number;
}

/** Every review of one pull request in an org, oldest first; `forUpdate` locks them. */
export async function listPullRequestReviews(db: Queryable, ref: PullRequestRef, options: { forUpdate?: boolean } = {}): Promise<Review[]> {
  const q = db("reviews")
    .select(COLUMNS)
    .where({ org_id: ref.org_id, pull_number: ref.pull_number })
    .whereRaw("lower(repository) = lower(?)", [ref.repository])
    .orderBy("id");
  if (options.forUpdate) q.forUpdate();
  return ((await q) as unknown[]).map(toReview);
}

/**
 * listPullRequestReviews for many pull requests in one statement: each ref's reviews, oldest
 * first, in the order of the refs; `forUpdate` locks them (in id order).
 */
export async function listPullRequestsReviews(db: Queryable, refs: PullRequestRef[], options: { forUpdate?: boolean } = {}): Promise<Review[][]> {
  if (refs.length === 0) return [];
  // One pull request (a delivery alone): the plain read.
  if (refs.length === 1) return [await listPullRequestReviews(db, refs[0]!, options)];
  const { rows } = (await db.raw(
    `SELECT ${RETURNING_REVIEW}
       FROM reviews r
       JOIN unnest(?::uuid[], ?::text[], ?::int[]) AS v(org_id, repository, pull_number)
         ON r.org_id = v.org_id AND lower(r.repository) = lower(v.repository) AND r.pull_number = v.pull_number
      ORDER BY r.id${options.forUpdate ? " FOR UPDATE OF r" : ""}`,
    [refs.map((ref) => ref.org_id), refs.map((ref) => ref.repository), refs.map((ref) => ref.pull_number)],
  )) as { rows: unknown[] };
  const key = (ref: PullRequestRef) => `${ref.org_id}:${ref.repository.toLowerCase()}#${ref.pull_number}`;
  const byRef = groupBy(rows.map(toReview), key);
  return refs.map((ref) => byRef.get(key(ref)) ?? []);
}

/** The team's oldest pending review without an agent after `afterId`, locked (SKIP LOCKED) for hand-out. */
export async function lockNextWaitingReview(db: Queryable, teamId: string, afterId: number): Promise<Review | undefined> {
  const row = await db("reviews")
    .select(COLUMNS)
    .where({ team_id: teamId, status: "pending" })
    .whereNull("assignee_id")
    .where("id", ">", afterId)
    .orderBy("id")
    .first()
    .forUpdate()
    .skipLocked();
  return row ? toReview(row) : undefined;
}

function toReview(row: unknown): Review {
  const r = row as Review & { installation_id: string | number | null };
  return { ...r, installation_id: r.installation_id === null ? null : Number(r.installation_id) };
}
