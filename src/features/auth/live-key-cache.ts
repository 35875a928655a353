import type { Queryable } from "../../db/create-db.js";
import { isApiKeyLive } from "./api-keys.store.js";

/** How long "this key is live" is believed; a revocation reaches every instance within this time. */
export const LIVE_KEY_CACHE_MS = 3_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether the key that minted a token is still live, asked of the database at most once per key
 * every LIVE_KEY_CACHE_MS. A revoked key stays revoked, so that answer is kept; a revocation in
 * this process is seen at once (`forget`).
 */
export class LiveKeyCache {
  private readonly liveUntil = new Map<string, number>();
  private readonly revoked = new Set<string>();

  async isLive(db: Queryable, keyId: string, orgId: string): Promise<boolean> {
    if (!UUID.test(keyId) || this.revoked.has(keyId)) return false;
    if ((this.liveUntil.get(keyId) ?? 0) > Date.now()) return true;
    const live = await isApiKeyLive(db, keyId, orgId);
    if (live) {
      if (this.liveUntil.size > 10_000) this.liveUntil.clear();
      this.liveUntil.set(keyId, Date.now() + LIVE_KEY_CACHE_MS);
    } else {
      this.liveUntil.delete(keyId);
      this.revoked.add(keyId);
    }
    return live;
  }

  forget(keyId: string): void {
    this.liveUntil.delete(keyId);
    this.revoked.add(keyId);
  }
}

/** The process's one cache: every auth middleware and the revoke route share it. */
export const liveKeys = new LiveKeyCache();
