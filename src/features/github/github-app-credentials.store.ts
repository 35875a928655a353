import type { Queryable } from "../../db/create-db.js";
import { openSecret, sealSecret } from "../../lib/secret-box.js";

/** What GitHub's manifest conversion hands over (`POST /app-manifests/{code}/conversions`). */
export interface ConvertedApp {
  id: number;
  slug: string;
  name: string;
  html_url: string;
  pem: string;
  webhook_secret: string;
  client_id?: string | null;
  client_secret?: string | null;
}

export interface StoredApp extends ConvertedApp {
  updated_at: Date;
}

/** Stores (or replaces) the App's credentials, sealed with ENCRYPTION_KEY. */
export async function saveAppCredentials(db: Queryable, key: Buffer, app: ConvertedApp, orgId: string): Promise<void> {
  const row = {
    id: 1,
    app_id: app.id,
    slug: app.slug,
    name: app.name,
    html_url: app.html_url,
    client_id: app.client_id ?? null,
    pem_sealed: sealSecret(key, app.pem),
    webhook_secret_sealed: sealSecret(key, app.webhook_secret),
    client_secret_sealed: app.client_secret ? sealSecret(key, app.client_secret) : null,
    registered_by_org_id: orgId,
    updated_at: new Date(),
  };
  await db("github_app_credentials").insert(row).onConflict("id").merge();
}

/** When the stored credentials last changed (cheap: the runtime polls it). */
export async function appCredentialsVersion(db: Queryable): Promise<string | undefined> {
  const row = (await db("github_app_credentials").select("updated_at").where({ id: 1 }).first()) as { updated_at: Date } | undefined;
  return row?.updated_at.toISOString();
}

/** The stored credentials, opened. */
export async function loadAppCredentials(db: Queryable, key: Buffer): Promise<StoredApp | undefined> {
  const row = (await db("github_app_credentials").where({ id: 1 }).first()) as
    | { app_id: string | number; slug: string; name: string; html_url: string; client_id: string | null; pem_sealed: string; webhook_secret_sealed: string; client_secret_sealed: string | null; updated_at: Date }
    | undefined;
  if (!row) return undefined;
  return {
    id: Number(row.app_id),
    slug: row.slug,
    name: row.name,
    html_url: row.html_url,
    client_id: row.client_id,
    pem: openSecret(key, row.pem_sealed),
    webhook_secret: openSecret(key, row.webhook_secret_sealed),
    client_secret: row.client_secret_sealed ? openSecret(key, row.client_secret_sealed) : null,
    updated_at: row.updated_at,
  };
}
