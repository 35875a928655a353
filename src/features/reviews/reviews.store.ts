import type { Queryable } from "../../db/create-db.js";
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

export type NewReview = Pick<Review, "org_id" | "team_id" | "repository" | "pull_number" | "pr_title" | "head_sha" | "html_url" | "installation_id" | "linked_task_ids">;

export async function insertReview(db: Queryable, review: NewReview): Promise<Review> {
  const [row] = await db("reviews").insert(review).returning(COLUMNS);
  return toReview(row);
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

/** Every review of one pull request in an org, oldest first; `forUpdate` locks them. */
export async function listPullRequestReviews(
  db: Queryable,
  ref: { org_id: string; repository: string; pull_number: number },
  options: { forUpdate?: boolean } = {},
): Promise<Review[]> {
  const q = db("reviews")
    .select(COLUMNS)
    .where({ org_id: ref.org_id, pull_number: ref.pull_number })
    .whereRaw("lower(repository) = lower(?)", [ref.repository])
    .orderBy("id");
  if (options.forUpdate) q.forUpdate();
  return ((await q) as unknown[]).map(toReview);
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
