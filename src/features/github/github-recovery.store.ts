import type { Queryable } from "../../db/create-db.js";

export interface RecoveryState {
  checked_through: Date;
  last_run_at: Date;
  last_error: string | null;
}

export async function readRecoveryState(db: Queryable): Promise<RecoveryState | undefined> {
  return db("github_recovery_state").select("checked_through", "last_run_at", "last_error").where({ id: 1 }).first();
}

/** Remembers how far back the recovery has looked; never moves the mark backwards. */
export async function saveRecoveryState(db: Queryable, checkedThrough: Date, lastError: string | null): Promise<void> {
  await db.raw(
    `INSERT INTO github_recovery_state (id, checked_through, last_run_at, last_error) VALUES (1, ?, now(), ?)
     ON CONFLICT (id) DO UPDATE SET checked_through = GREATEST(github_recovery_state.checked_through, EXCLUDED.checked_through),
                                    last_run_at = now(), last_error = EXCLUDED.last_error`,
    [checkedThrough, lastError],
  );
}

export async function findRequestedGuids(db: Queryable, guids: string[]): Promise<Set<string>> {
  if (!guids.length) return new Set();
  const rows = (await db("github_redelivery_requests").select("delivery_guid").whereIn("delivery_guid", guids)) as { delivery_guid: string }[];
  return new Set(rows.map((row) => row.delivery_guid));
}

/** Claims the one request GitHub will ever get for a GUID; false when it was claimed before (here or by another instance). */
export async function claimRedeliveryRequest(
  db: Queryable,
  request: { delivery_guid: string; hook_delivery_id: number; event_type: string | null; failed_at: Date | null },
): Promise<boolean> {
  const rows = await db("github_redelivery_requests").insert(request).onConflict("delivery_guid").ignore().returning("delivery_guid");
  return rows.length > 0;
}

export async function recordRedeliveryOutcome(db: Queryable, guid: string, outcome: { status_code: number | null; error: string | null }): Promise<void> {
  await db("github_redelivery_requests").where({ delivery_guid: guid }).update(outcome);
}
