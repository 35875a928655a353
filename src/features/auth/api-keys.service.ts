import type { Queryable } from "../../db/create-db.js";
import { NotFoundError } from "../../errors.js";
import { randomToken } from "../../lib/random-token.js";
import { sha256Hex } from "../../lib/sha256-hex.js";
import { liveKeys } from "./live-key-cache.js";
import { findLiveApiKeyByHash, insertApiKey, listApiKeys, revokeApiKey, type ApiKeyRow } from "./api-keys.store.js";
import { API_KEY_PREFIX, type CreatedApiKey } from "./auth.schema.js";

export { API_KEY_PREFIX };

export type { CreatedApiKey };

/** Creates an org-scoped API key; only its SHA-256 is kept. */
export async function createApiKey(db: Queryable, orgId: string, name: string): Promise<CreatedApiKey> {
  const key = `${API_KEY_PREFIX}${randomToken(32)}`;
  const row = await insertApiKey(db, { org_id: orgId, name, prefix: key.slice(0, 10), key_hash: sha256Hex(key) });
  return { ...row, key };
}

export async function listOrgApiKeys(db: Queryable, orgId: string): Promise<ApiKeyRow[]> {
  return listApiKeys(db, orgId);
}

export async function revokeOrgApiKey(db: Queryable, orgId: string, id: string): Promise<void> {
  if (!(await revokeApiKey(db, orgId, id))) throw new NotFoundError(`API key ${id} not found`);
  liveKeys.forget(id);
}

/** The org a presented key belongs to, or undefined for an unknown or revoked key. */
export async function authenticateApiKey(db: Queryable, key: string): Promise<ApiKeyRow | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
  return findLiveApiKeyByHash(db, sha256Hex(key));
}
