import type { Queryable } from "../../db/create-db.js";
import { NotAllowedError } from "../../errors.js";

/** The org that administers the instance: ENTOURAGE_INSTANCE_ORG_ID, else the org created first. */
export async function findInstanceOrgId(db: Queryable, configured?: string): Promise<string | undefined> {
  if (configured) return configured;
  const row = (await db("entourage_instance").select("org_id").where({ id: 1 }).first()) as { org_id: string | null } | undefined;
  return row?.org_id ?? undefined;
}

/** Records `orgId` as the instance org when none is recorded yet (the first org created). */
export async function claimInstanceOrg(db: Queryable, orgId: string): Promise<void> {
  await db.raw(
    `INSERT INTO entourage_instance (id, org_id) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id WHERE entourage_instance.org_id IS NULL`,
    [orgId],
  );
}

/** 403 unless the caller's org administers the instance. */
export async function requireInstanceOrg(db: Queryable, configured: string | undefined, orgId: string, what: string): Promise<void> {
  if ((await findInstanceOrgId(db, configured)) !== orgId) {
    throw new NotAllowedError(`Only the instance org may ${what} (the org created first, or ENTOURAGE_INSTANCE_ORG_ID)`);
  }
}
