import type { Queryable } from "../../db/create-db.js";

export type GithubActionKind = "issue_comment" | "close_issue" | "create_review" | "add_labels";

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
  const inserted = (await db("github_outbox")
    .insert({ ...action, request: JSON.stringify(action.request), installation_id: action.installation_id ?? null, task_id: action.task_id ?? null })
    .onConflict("dedupe_key")
    .ignore()
    .returning("id")) as { id: number }[];
  if (inserted[0]) {
    await db.raw("SELECT pg_notify('entourage_github_outbox', '')");
    return { id: inserted[0].id, created: true };
  }
  const existing = (await db("github_outbox").select("id").where({ dedupe_key: action.dedupe_key }).first()) as { id: number };
  return { id: existing.id, created: false };
}
