import type { Queryable } from "../../db/create-db.js";
import type { Provider } from "./webhook-events.js";
import type { WebhookConfig } from "./webhooks.schema.js";

export interface WebhookRow {
  id: string;
  org_id: string;
  name: string;
  provider: Provider;
  events: string[];
  config: WebhookConfig;
  active: boolean;
  secret_sealed: string;
  secret_hint: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  /** The repository a webhook naming none in its config is entitled to: the first one it received from. */
  first_repository: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  "id",
  "org_id",
  "name",
  "provider",
  "events",
  "config",
  "active",
  "secret_sealed",
  "secret_hint",
  "previous_secret_sealed",
  "previous_secret_expires_at",
  "first_repository",
  "created_at",
  "updated_at",
] as const;

export async function insertWebhook(
  db: Queryable,
  webhook: Pick<WebhookRow, "org_id" | "name" | "provider" | "events" | "config" | "active" | "secret_sealed" | "secret_hint">,
): Promise<WebhookRow> {
  const [row] = await db("webhooks")
    .insert({ ...webhook, config: JSON.stringify(webhook.config) })
    .returning(COLUMNS);
  return row as WebhookRow;
}

/** A webhook by id alone: the receive path knows only the id in the URL. */
export async function findWebhookById(db: Queryable, id: string): Promise<WebhookRow | undefined> {
  return db("webhooks").select(COLUMNS).where({ id }).first();
}

/** Several webhooks by id (the worker's batch), keyed by id. */
export async function findWebhooksByIds(db: Queryable, ids: string[]): Promise<Map<string, WebhookRow>> {
  const rows = (await db("webhooks").select(COLUMNS).whereIn("id", ids)) as WebhookRow[];
  return new Map(rows.map((row) => [row.id, row]));
}

export async function findOrgWebhook(db: Queryable, orgId: string, id: string): Promise<WebhookRow | undefined> {
  return db("webhooks").select(COLUMNS).where({ org_id: orgId, id }).first();
}

export async function listOrgWebhooks(db: Queryable, orgId: string): Promise<WebhookRow[]> {
  return db("webhooks").select(COLUMNS).where({ org_id: orgId }).orderBy("created_at", "desc").orderBy("id");
}

/**
 * Active github webhooks an App delivery goes to: those of the org its installation is linked
 * to (none while it is not linked) that name its repository (config.repositories) or its
 * installation (config.installation_id).
 */
export async function findGithubWebhooksFor(
  db: Queryable,
  target: { repository?: string; installationId?: number },
): Promise<WebhookRow[]> {
  const installationId = target.installationId;
  if (!installationId) return [];
  const q = db("webhooks")
    .select(COLUMNS)
    .where({ provider: "github", active: true })
    .whereRaw("org_id = (SELECT org_id FROM github_installations WHERE id = ?)", [installationId]);
  q.where((w) => {
    w.whereRaw("(config->>'installation_id')::bigint = ?", [installationId]);
    // GitHub treats owner/name case-insensitively; so does routing.
    if (target.repository) {
      w.orWhereRaw(
        "EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(config->'repositories', '[]'::jsonb)) AS named(full_name) WHERE lower(named.full_name) = lower(?))",
        [target.repository],
      );
    }
  });
  return q.orderBy("created_at");
}

/** The org's oldest github webhook whose config.installation_id names the installation. */
export async function findGithubWebhookForInstallation(db: Queryable, orgId: string, installationId: number): Promise<WebhookRow | undefined> {
  return db("webhooks")
    .select(COLUMNS)
    .where({ org_id: orgId, provider: "github" })
    .whereRaw("(config->>'installation_id')::bigint = ?", [installationId])
    .orderBy("created_at")
    .first();
}

/**
 * Records the first repository a webhook whose config names none received from; returns the
 * repository it is entitled to (this one, or the one recorded before).
 */
export async function claimFirstRepository(db: Queryable, webhookId: string, repository: string): Promise<string | undefined> {
  await db("webhooks").where({ id: webhookId }).whereNull("first_repository").update({ first_repository: repository });
  const row = (await db("webhooks").select("first_repository").where({ id: webhookId }).first()) as { first_repository: string | null } | undefined;
  return row?.first_repository ?? undefined;
}

export async function updateWebhook(
  db: Queryable,
  orgId: string,
  id: string,
  changes: Partial<Pick<WebhookRow, "name" | "events" | "config" | "active" | "secret_sealed" | "secret_hint" | "previous_secret_sealed" | "previous_secret_expires_at">>,
): Promise<WebhookRow | undefined> {
  const values: Record<string, unknown> = { ...changes, updated_at: db.fn.now() };
  if (changes.config) values.config = JSON.stringify(changes.config);
  const [row] = await db("webhooks").where({ org_id: orgId, id }).update(values).returning(COLUMNS);
  return row as WebhookRow | undefined;
}

export async function deleteWebhook(db: Queryable, orgId: string, id: string): Promise<boolean> {
  return (await db("webhooks").where({ org_id: orgId, id }).delete()) > 0;
}
