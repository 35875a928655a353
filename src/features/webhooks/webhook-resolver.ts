import type { Knex } from "knex";
import { openSecret } from "../../lib/secret-box.js";
import { findWebhookById, type WebhookRow } from "./webhooks.store.js";

export interface ResolvedWebhook {
  webhook: WebhookRow;
  /** Secrets that verify now: the current one, and the previous one inside its grace period. */
  secrets: string[];
}

interface Entry {
  value: WebhookRow | undefined;
  /** Opened once per cache fill, not per request: decrypting is measurable on the hot path. */
  secret?: string;
  previousSecret?: string;
  expiresAt: number;
}

/**
 * The receive path's view of webhooks: a short-lived in-memory cache with secrets kept
 * decrypted only in memory. Changes made through this process invalidate at once; changes
 * made on another instance are seen within `ttlMs`.
 */
export class WebhookResolver {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly knex: Knex,
    private readonly encryptionKey: Buffer,
    private readonly ttlMs = 5_000,
    /** Ids held at most; past it the cache starts over (a flood of unknown ids cannot grow it). */
    private readonly maxEntries = 10_000,
  ) {}

  async resolve(id: string): Promise<ResolvedWebhook | undefined> {
    const now = Date.now();
    let entry = this.cache.get(id);
    if (!entry || entry.expiresAt <= now) {
      const value = await findWebhookById(this.knex, id);
      entry = {
        value,
        secret: value && openSecret(this.encryptionKey, value.secret_sealed),
        previousSecret: value?.previous_secret_sealed ? openSecret(this.encryptionKey, value.previous_secret_sealed) : undefined,
        expiresAt: now + this.ttlMs,
      };
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(id, entry);
    }
    const webhook = entry.value;
    if (!webhook || entry.secret === undefined) return undefined;
    const secrets = [entry.secret];
    if (entry.previousSecret !== undefined && webhook.previous_secret_expires_at && webhook.previous_secret_expires_at.getTime() > now) {
      secrets.push(entry.previousSecret);
    }
    return { webhook, secrets };
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
