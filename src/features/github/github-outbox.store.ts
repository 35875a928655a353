import type { Queryable } from "../../db/create-db.js";
import { runClaim, sqlLiteral } from "../../db/run-claim.js";

export const GITHUB_ACTION_KINDS = ["issue_comment", "close_issue", "create_review", "add_labels"] as const;
export type GithubActionKind = (typeof GITHUB_ACTION_KINDS)[number];

export interface NewGithubAction {
  org_id: string;
  kind: GithubActionKind;
  /** owner/name */
  repository: string;
  /** Known from an App delivery; otherwise looked up by repository when sending. */
  installation_id?: number | null;
  /** One row per key, ever: retries and repeated decisions never post twice. */
  dedupe_key: string;
  /** What to send, e.g. `{ issue_number, body }` for a comment. */
  request: Record<string, unknown>;
  task_id?: number | null;
}

/** Appends a GitHub write to the outbox inside the caller's transaction; a repeated dedupe_key is a no-op. */
export async function enqueueGithubAction(db: Queryable, action: NewGithubAction): Promise<{ id: number; created: boolean }> {
  const [inserted] = await enqueueGithubActions(db, [action]);
  if (inserted) return { id: inserted.id, created: true };
  const existing = (await db("github_outbox").select("id").where({ dedupe_key: action.dedupe_key }).first()) as { id: number };
  return { id: existing.id, created: false };
}

/**
 * Appends GitHub writes to the outbox in one statement, which also wakes the senders when any row
 * is new; rows whose dedupe_key is taken are left out. Returns the new rows' ids.
 */
export async function enqueueGithubActions(db: Queryable, actions: NewGithubAction[]): Promise<{ id: number }[]> {
  if (actions.length === 0) return [];
  const inserted = db("github_outbox")
    .insert(actions.map((action) => ({ ...action, request: JSON.stringify(action.request), installation_id: action.installation_id ?? null, task_id: action.task_id ?? null })))
    .onConflict("dedupe_key")
    .ignore()
    .returning("id");
  // NOTIFY is sent once per transaction and payload, however many rows call it.
  const rows = (await db
    .with("inserted", inserted)
    .select("inserted.id", db.raw("pg_notify('entourage_github_outbox', '')"))
    .from("inserted")
    .orderBy("inserted.id")) as { id: number }[];
  return rows.map(({ id }) => ({ id }));
}

export const GITHUB_ACTION_STATUSES = ["pending", "sent", "failed", "skipped"] as const;
export type GithubActionStatus = (typeof GITHUB_ACTION_STATUSES)[number];

/** A claimed outbox row: `attempts` already counts this attempt. */
export interface ClaimedGithubAction {
  id: number;
  org_id: string;
  kind: GithubActionKind;
  repository: string;
  installation_id: number | null;
  dedupe_key: string;
  request: Record<string, unknown>;
  task_id: number | null;
  attempts: number;
  created_at: Date;
}

export interface GithubActionRow extends ClaimedGithubAction {
  status: GithubActionStatus;
  next_attempt_at: Date;
  last_error: string | null;
  result: Record<string, unknown> | null;
  sent_at: Date | null;
}

const CLAIM_COLUMNS = ["id", "org_id", "kind", "repository", "installation_id", "dedupe_key", "request", "task_id", "attempts", "created_at"] as const;
const ROW_COLUMNS = [...CLAIM_COLUMNS, "status", "next_attempt_at", "last_error", "result", "sent_at"] as const;

/** A GitHub write as its org reads it (GET /github/actions, a task's github_updates): the row without the org. */
export type GithubActionView = Omit<GithubActionRow, "org_id">;
const VIEW_COLUMNS = ROW_COLUMNS.filter((column) => column !== "org_id");

/**
 * Claims due pending rows for this sender (SKIP LOCKED; a lease so a crashed sender's rows
 * come back) and counts the attempt now: a row with attempts > 1 may already have reached GitHub.
 */
export async function claimGithubActions(db: Queryable, senderId: string, limit: number, leaseMs: number): Promise<ClaimedGithubAction[]> {
  return runClaim<ClaimedGithubAction>(
    db,
    `UPDATE github_outbox o
        SET locked_by = ${sqlLiteral(senderId)}, locked_until = now() + (${sqlLiteral(leaseMs)} * interval '1 millisecond'), attempts = o.attempts + 1
      WHERE o.id IN (
        SELECT id FROM github_outbox
         WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
         ORDER BY next_attempt_at, id
         FOR UPDATE SKIP LOCKED
         LIMIT ${sqlLiteral(limit)})
      RETURNING ${CLAIM_COLUMNS.map((c) => `o.${c}`).join(", ")}`,
  );
}

export type GithubActionSettlement =
  | { status: "sent"; result: Record<string, unknown> }
  | { status: "pending"; error: string; retryInMs: number }
  | { status: "failed" | "skipped"; error: string };

/** Records the outcome of an attempt, if this sender still holds the row; false when its lease was lost. */
export async function settleGithubAction(db: Queryable, id: number, senderId: string, outcome: GithubActionSettlement): Promise<boolean> {
  const changes: Record<string, unknown> = { status: outcome.status, locked_by: null, locked_until: null };
  if (outcome.status === "sent") {
    Object.assign(changes, { result: JSON.stringify(outcome.result), sent_at: db.fn.now(), last_error: null });
  } else {
    changes.last_error = outcome.error.slice(0, 2000);
    if (outcome.status === "pending") changes.next_attempt_at = db.raw("now() + (? * interval '1 millisecond')", [outcome.retryInMs]);
  }
  const updated = await db("github_outbox").where({ id, locked_by: senderId, status: "pending" }).update(changes);
  return updated > 0;
}

/** An org's GitHub writes, newest first (filter by task to see why a comment was or was not posted). */
export async function listGithubActions(
  db: Queryable,
  orgId: string,
  options: { task_id?: number; status?: GithubActionStatus; before_id?: number; limit: number },
): Promise<GithubActionView[]> {
  const q = db("github_outbox").select(VIEW_COLUMNS).where({ org_id: orgId });
  if (options.task_id) q.where({ task_id: options.task_id });
  if (options.status) q.where({ status: options.status });
  if (options.before_id) q.where("id", "<", options.before_id);
  return q.orderBy("id", "desc").limit(options.limit);
}
