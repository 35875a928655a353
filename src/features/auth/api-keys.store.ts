import type { Queryable } from "../../db/create-db.js";

import { apiKeyOutput, type ApiKeyRow } from "./auth.schema.js";

export type { ApiKeyRow };

const COLUMNS = Object.keys(apiKeyOutput.shape);

export async function insertApiKey(
  db: Queryable,
  key: { org_id: string; name: string; prefix: string; key_hash: string },
): Promise<ApiKeyRow> {
  const [row] = await db("api_keys").insert(key).returning(COLUMNS);
  return row as ApiKeyRow;
}

export async function listApiKeys(db: Queryable, orgId: string): Promise<ApiKeyRow[]> {
  return db("api_keys").select(COLUMNS).where({ org_id: orgId }).orderBy("created_at", "desc");
}

/** Marks a key revoked; returns false when the org has no such key. */
export async function revokeApiKey(db: Queryable, orgId: string, id: string): Promise<boolean> {
  const rows = await db("api_keys")
    .where({ org_id: orgId, id })
    .update({ revoked_at: db.raw("coalesce(revoked_at, now())") }, ["id"]);
  return rows.length > 0;
}

/** The live (not revoked) key with this hash; touches last_used_at at most once a minute. */
export async function findLiveApiKeyByHash(db: Queryable, keyHash: string): Promise<ApiKeyRow | undefined> {
  const row = (await db("api_keys").select(COLUMNS).where({ key_hash: keyHash }).whereNull("revoked_at").first()) as
    | ApiKeyRow
    | undefined;
  if (row && (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000)) {
    await db("api_keys").where({ id: row.id }).update({ last_used_at: db.fn.now() });
  }
  return row;
}

/** True when the org has this key and it is not revoked. */
export async function isApiKeyLive(db: Queryable, id: string, orgId: string): Promise<boolean> {
  const row = await db("api_keys").select("id").where({ id, org_id: orgId }).whereNull("revoked_at").first();
  return row !== undefined;
}
