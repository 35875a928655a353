import type { Knex } from "knex";
import { InputError, NotFoundError } from "../../errors.js";
import { generateWebhookSecret, secretHint } from "../../lib/generate-webhook-secret.js";
import { sealSecret } from "../../lib/secret-box.js";
import { findTeam } from "../teams/teams.store.js";
import { deliveryStats, type DeliveryStats } from "./deliveries.store.js";
import { checkEvents, type CreateWebhookBody, type UpdateWebhookBody, type WebhookConfig, type WebhookView } from "./webhooks.schema.js";
import { deleteWebhook, findOrgWebhook, insertWebhook, listOrgWebhooks, updateWebhook, type WebhookRow } from "./webhooks.store.js";
import type { WebhookResolver } from "./webhook-resolver.js";
import { assertInstallationNotTaken, routingWarnings } from "./webhook-routing.js";
import { announceWebhookChange, type WebhookChange } from "./announce-webhook-change.js";
import { z } from "zod";

export type { WebhookView };

export interface WebhookDeps {
  knex: Knex;
  encryptionKey: Buffer;
  publicUrl: string;
  resolver?: WebhookResolver;
}

/** The API's view of a webhook: never the secret, only a hint of it. */
export function toWebhookView(webhook: WebhookRow, publicUrl: string, stats?: DeliveryStats, routingWarnings: string[] = []): WebhookView {
  const named = webhook.config.repositories ?? [];
  return {
    id: webhook.id,
    org_id: webhook.org_id,
    name: webhook.name,
    provider: webhook.provider,
    events: webhook.events,
    config: webhook.config,
    active: webhook.active,
    receive_url: `${publicUrl}/api/v1/webhooks/${webhook.id}/receive`,
    secret_hint: webhook.secret_hint,
    previous_secret_expires_at:
      webhook.previous_secret_expires_at && webhook.previous_secret_expires_at.getTime() > Date.now() ? webhook.previous_secret_expires_at : null,
    created_at: webhook.created_at,
    updated_at: webhook.updated_at,
    entitled_repositories: webhook.provider !== "github" ? [] : named.length ? named : webhook.first_repository ? [webhook.first_repository] : [],
    first_repository: webhook.first_repository,
    routing_warnings: routingWarnings,
    ...(stats ? { delivery_counts: stats.counts, last_delivery_at: stats.last_delivery_at } : {}),
  };
}

async function requireTeam(knex: Knex, orgId: string, config: WebhookConfig): Promise<void> {
  if (!(await findTeam(knex, orgId, config.team_id))) {
    throw new InputError("Invalid request", [{ field: "config.team_id", message: "no such team in this org" }], "validation_failed");
  }
}

/** Registers a webhook; the secret is returned here and on regenerate only. */
export async function createWebhook(deps: WebhookDeps, orgId: string, body: CreateWebhookBody): Promise<WebhookView & { secret: string }> {
  if (body.org_id && body.org_id !== orgId) {
    throw new InputError("Invalid request", [{ field: "org_id", message: "must be your own org (or omitted)" }], "validation_failed");
  }
  await requireTeam(deps.knex, orgId, body.config);
  await assertInstallationNotTaken(deps.knex, orgId, body.config);
  const secret = generateWebhookSecret();
  const webhook = await deps.knex.transaction(async (trx) => {
    const inserted = await insertWebhook(trx, {
      org_id: orgId,
      name: body.name ?? "",
      provider: body.provider,
      events: [...new Set(body.events)],
      config: body.config,
      active: body.active,
      secret_sealed: sealSecret(deps.encryptionKey, secret),
      secret_hint: secretHint(secret),
    });
    await announceWebhookChange(trx, inserted, "created");
    return inserted;
  });
  deps.resolver?.invalidate(webhook.id);
  return { ...toWebhookView(webhook, deps.publicUrl, undefined, await routingWarnings(deps.knex, webhook)), secret };
}

export async function getWebhook(deps: WebhookDeps, orgId: string, id: string): Promise<WebhookView> {
  const webhook = await findOrgWebhook(deps.knex, orgId, id);
  if (!webhook) throw new NotFoundError(`Webhook ${id} not found`);
  const stats = await deliveryStats(deps.knex, [id]);
  return toWebhookView(webhook, deps.publicUrl, stats.get(id), await routingWarnings(deps.knex, webhook));
}

export async function listWebhooks(deps: WebhookDeps, orgId: string): Promise<WebhookView[]> {
  const webhooks = await listOrgWebhooks(deps.knex, orgId);
  const stats = await deliveryStats(
    deps.knex,
    webhooks.map((webhook) => webhook.id),
  );
  return Promise.all(webhooks.map(async (webhook) => toWebhookView(webhook, deps.publicUrl, stats.get(webhook.id), await routingWarnings(deps.knex, webhook))));
}

export async function changeWebhook(deps: WebhookDeps, orgId: string, id: string, body: UpdateWebhookBody): Promise<WebhookView> {
  const current = await findOrgWebhook(deps.knex, orgId, id);
  if (!current) throw new NotFoundError(`Webhook ${id} not found`);
  if (body.events) {
    const check = z.array(z.string()).superRefine((events, ctx) => checkEvents(current.provider, events, ctx)).safeParse(body.events);
    if (!check.success) {
      throw new InputError("Invalid request", check.error.issues.map((issue) => ({ field: "events", message: issue.message })), "validation_failed");
    }
  }
  if (body.config) {
    await requireTeam(deps.knex, orgId, body.config);
    await assertInstallationNotTaken(deps.knex, orgId, body.config);
  }
  const updated = await updateAndAnnounce(deps, orgId, id, "updated", {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.events ? { events: [...new Set(body.events)] } : {}),
    ...(body.config ? { config: body.config } : {}),
    ...(body.active !== undefined ? { active: body.active } : {}),
  });
  return toWebhookView(updated, deps.publicUrl, undefined, await routingWarnings(deps.knex, updated));
}

export async function removeWebhook(deps: WebhookDeps, orgId: string, id: string): Promise<void> {
  await deps.knex.transaction(async (trx) => {
    const current = await findOrgWebhook(trx, orgId, id);
    if (!current || !(await deleteWebhook(trx, orgId, id))) throw new NotFoundError(`Webhook ${id} not found`);
    await announceWebhookChange(trx, current, "deleted");
  });
  deps.resolver?.invalidate(id);
}

/** A new secret; the old one keeps verifying for `graceSeconds` (0: it stops at once). */
export async function regenerateSecret(
  deps: WebhookDeps,
  orgId: string,
  id: string,
  graceSeconds: number,
): Promise<WebhookView & { secret: string }> {
  const current = await findOrgWebhook(deps.knex, orgId, id);
  if (!current) throw new NotFoundError(`Webhook ${id} not found`);
  const secret = generateWebhookSecret();
  const updated = await updateAndAnnounce(deps, orgId, id, "secret_regenerated", {
    secret_sealed: sealSecret(deps.encryptionKey, secret),
    secret_hint: secretHint(secret),
    previous_secret_sealed: graceSeconds > 0 ? current.secret_sealed : null,
    previous_secret_expires_at: graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null,
  });
  return { ...toWebhookView(updated, deps.publicUrl, undefined, await routingWarnings(deps.knex, updated)), secret };
}

/**
 * Writes a change and its `webhook.<change>` event in one transaction. A webhook deleted by a
 * concurrent request since it was read is as missing as if it had never been (404).
 */
async function updateAndAnnounce(deps: WebhookDeps, orgId: string, id: string, change: WebhookChange, changes: Parameters<typeof updateWebhook>[3]): Promise<WebhookRow> {
  const updated = await deps.knex.transaction(async (trx) => {
    const row = await updateWebhook(trx, orgId, id, changes);
    if (row) await announceWebhookChange(trx, row, change);
    return row;
  });
  deps.resolver?.invalidate(id);
  if (!updated) throw new NotFoundError(`Webhook ${id} not found`);
  return updated;
}
