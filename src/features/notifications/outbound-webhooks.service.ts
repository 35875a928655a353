import type { Knex } from "knex";
import type { Queryable } from "../../db/create-db.js";
import { readSnapshot } from "../../db/read-snapshot.js";
import { ConflictError, InputError, NotFoundError } from "../../errors.js";
import { generateWebhookSecret, secretHint } from "../../lib/generate-webhook-secret.js";
import { sealSecret } from "../../lib/secret-box.js";
import { appendEvents } from "../events/events.store.js";
import { announceOutboundChange } from "./announce-outbound-change.js";
import { findTeam } from "../teams/teams.store.js";
import {
  findOutboundDeliveryRow,
  listAttempts,
  listOutboundDeliveryRows,
  notifyOutboundSenders,
  requeueDelivery,
  type OutboundAttemptRow,
  type OutboundDeliveryRow,
  type OutboundDeliveryStatus,
} from "./outbound-deliveries.store.js";
import { assertPublicDestination, ForbiddenDestinationError } from "./outbound-url-safety.js";
import type { CreateOutboundWebhookBody, OutboundDeliveryView, OutboundWebhookView, UpdateOutboundWebhookBody } from "./outbound-webhooks.schema.js";

export type { OutboundDeliveryView, OutboundWebhookView };
import {
  deleteOutboundWebhook,
  findOutboundWebhook,
  insertOutboundWebhook,
  updateOutboundWebhook,
  type OutboundWebhookChanges,
  type OutboundWebhookRow,
} from "./outbound-webhooks.store.js";

/** How long the old secret keeps signing after a rotation (as Svix does). */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface OutboundServiceDeps {
  knex: Knex;
  encryptionKey: Buffer;
  allowPrivateOutbound: boolean;
}

/** What the API shows of an endpoint: never a secret or the API key. */

export function toOutboundWebhookView(row: OutboundWebhookRow): OutboundWebhookView {
  const rotating = row.previous_secret_expires_at && row.previous_secret_expires_at > new Date();
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    team_id: row.team_id,
    description: row.description,
    active: row.active,
    has_api_key: row.api_key_sealed !== null,
    secret_hint: row.secret_hint,
    previous_secret_expires_at: rotating ? row.previous_secret_expires_at : null,
    failing_since: row.failing_since,
    disabled_at: row.disabled_at,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Registers an endpoint; the only time its secret is returned. */
export async function createOutboundWebhook(
  deps: OutboundServiceDeps,
  orgId: string,
  body: CreateOutboundWebhookBody,
): Promise<OutboundWebhookView & { secret: string }> {
  await checkDestination(deps, body.url);
  if (body.team_id && !(await findTeam(deps.knex, orgId, body.team_id))) {
    throw new InputError("Invalid request", [{ field: "team_id", message: "no such team in this org" }], "validation_failed");
  }
  const secret = generateWebhookSecret();
  const row = await deps.knex.transaction(async (trx) => {
    const inserted = await insertOutboundWebhook(trx, {
      org_id: orgId,
      team_id: body.team_id ?? null,
      url: body.url,
      events: body.events,
      description: body.description,
      secret_sealed: sealSecret(deps.encryptionKey, secret),
      secret_hint: secretHint(secret),
      api_key_sealed: body.api_key ? sealSecret(deps.encryptionKey, body.api_key) : null,
    });
    await announceOutboundChange(trx, inserted, "created");
    return inserted;
  });
  return { ...toOutboundWebhookView(row), secret };
}

export async function getOutboundWebhook(db: Queryable, orgId: string, id: string): Promise<OutboundWebhookRow> {
  const row = await findOutboundWebhook(db, orgId, id);
  if (!row) throw new NotFoundError(`Outbound webhook ${id} not found`);
  return row;
}

/** PATCH: url (re-checked), events, description, api_key, active (re-activating clears the failure streak). */
export async function patchOutboundWebhook(deps: OutboundServiceDeps, orgId: string, id: string, body: UpdateOutboundWebhookBody): Promise<OutboundWebhookView> {
  await getOutboundWebhook(deps.knex, orgId, id);
  if (body.url !== undefined) await checkDestination(deps, body.url);
  const changes: OutboundWebhookChanges = {};
  if (body.url !== undefined) changes.url = body.url;
  if (body.events !== undefined) changes.events = body.events;
  if (body.description !== undefined) changes.description = body.description;
  if (body.api_key !== undefined) changes.api_key_sealed = body.api_key === null ? null : sealSecret(deps.encryptionKey, body.api_key);
  if (body.active === true) Object.assign(changes, { active: true, failing_since: null, disabled_at: null, disabled_reason: null });
  if (body.active === false) Object.assign(changes, { active: false, disabled_at: new Date(), disabled_reason: "disabled by a user" });
  const row = await deps.knex.transaction(async (trx) => {
    const updated = await updateOutboundWebhook(trx, orgId, id, changes);
    if (updated) await announceOutboundChange(trx, updated, "updated");
    // Its deliveries that waited while it was off are claimable again.
    if (updated && body.active === true) await notifyOutboundSenders(trx);
    return updated;
  });
  // Deleted by a concurrent request since it was read: as missing as if it had never been.
  if (!row) throw new NotFoundError(`Outbound webhook ${id} not found`);
  return toOutboundWebhookView(row);
}

export async function removeOutboundWebhook(knex: Knex, orgId: string, id: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const current = await findOutboundWebhook(trx, orgId, id, { forUpdate: true });
    if (!current || !(await deleteOutboundWebhook(trx, orgId, id))) throw new NotFoundError(`Outbound webhook ${id} not found`);
    await announceOutboundChange(trx, current, "deleted");
  });
}

/** New secret now; the current one keeps signing beside it for 24 h. */
export async function rotateOutboundWebhookSecret(
  deps: OutboundServiceDeps,
  orgId: string,
  id: string,
): Promise<OutboundWebhookView & { secret: string }> {
  return deps.knex.transaction(async (trx) => {
    const current = await findOutboundWebhook(trx, orgId, id, { forUpdate: true });
    if (!current) throw new NotFoundError(`Outbound webhook ${id} not found`);
    const secret = generateWebhookSecret();
    // Locked above, so it is still there.
    const row = (await updateOutboundWebhook(trx, orgId, id, {
      secret_sealed: sealSecret(deps.encryptionKey, secret),
      secret_hint: secretHint(secret),
      previous_secret_sealed: current.secret_sealed,
      previous_secret_expires_at: new Date(Date.now() + SECRET_ROTATION_OVERLAP_MS),
    }))!;
    await announceOutboundChange(trx, row, "secret_rotated");
    return { ...toOutboundWebhookView(row), secret };
  });
}


/** Deliveries of an endpoint (newest first) with their attempts. */
export async function listOutboundDeliveries(
  db: Queryable,
  orgId: string,
  endpointId: string,
  query: { status?: OutboundDeliveryStatus; before?: { event_id: number; id: string }; limit: number },
): Promise<OutboundDeliveryView[]> {
  await getOutboundWebhook(db, orgId, endpointId);
  return readSnapshot(db, async (snapshot) => {
    const rows = await listOutboundDeliveryRows(snapshot, { endpoint_id: endpointId, ...query });
    const attempts = await listAttempts(snapshot, rows.map((row) => row.id));
    return rows.map((row) => outboundDeliveryView(row, attempts));
  });
}

export async function getOutboundDelivery(db: Queryable, orgId: string, endpointId: string, deliveryId: string): Promise<OutboundDeliveryView> {
  await getOutboundWebhook(db, orgId, endpointId);
  return readSnapshot(db, async (snapshot) => {
    const row = await findOutboundDeliveryRow(snapshot, endpointId, deliveryId);
    if (!row) throw new NotFoundError(`Delivery ${deliveryId} not found`);
    return { ...outboundDeliveryView(row, await listAttempts(snapshot, [row.id])), payload: JSON.parse(row.body) };
  });
}

/** Sends a delivery again (same id and body), now, with a fresh retry schedule. */
export async function redeliverOutboundDelivery(db: Queryable, orgId: string, endpointId: string, deliveryId: string): Promise<OutboundDeliveryView> {
  const endpoint = await getOutboundWebhook(db, orgId, endpointId);
  const row = await findOutboundDeliveryRow(db, endpointId, deliveryId);
  if (!row) throw new NotFoundError(`Delivery ${deliveryId} not found`);
  if (!endpoint.active) throw new ConflictError(`Outbound webhook ${endpointId} is disabled; re-activate it first (PATCH {"active": true})`);
  const requeued = await requeueDelivery(db, row.id);
  if (!requeued) throw new NotFoundError(`Delivery ${deliveryId} not found`); // deleted with its endpoint meanwhile
  return outboundDeliveryView(requeued, await listAttempts(db, [row.id]));
}

/** Turns an endpoint off for good reason and says so with an `outbound_webhook.disabled` event. */
export async function disableOutboundWebhook(knex: Knex, endpoint: Pick<OutboundWebhookRow, "id" | "org_id">, reason: string): Promise<void> {
  await knex.transaction(async (trx) => {
    const current = await findOutboundWebhook(trx, endpoint.org_id, endpoint.id, { forUpdate: true });
    if (!current?.active) return;
    const row = (await updateOutboundWebhook(trx, endpoint.org_id, endpoint.id, { active: false, disabled_at: new Date(), disabled_reason: reason }))!; // locked above
    await appendEvents(trx, [
      { org_id: row.org_id, team_id: row.team_id, type: "outbound_webhook.disabled", data: { outbound_webhook_id: row.id, url: row.url, reason } },
    ]);
  });
}

function outboundDeliveryView(row: OutboundDeliveryRow, attempts: OutboundAttemptRow[]): OutboundDeliveryView {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event: row.event_type,
    event_id: row.event_id,
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: row.status === "pending" ? row.next_attempt_at : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: row.delivered_at,
    created_at: row.created_at,
    attempts: attempts.filter((attempt) => attempt.delivery_id === row.id).map(({ id: _id, delivery_id: _d, ...attempt }) => attempt),
  };
}

async function checkDestination(deps: OutboundServiceDeps, url: string): Promise<void> {
  if (deps.allowPrivateOutbound) return;
  try {
    await assertPublicDestination(url);
  } catch (error) {
    if (error instanceof ForbiddenDestinationError) {
      throw new InputError("Invalid request", [{ field: "url", message: error.message }], "validation_failed");
    }
    throw error;
  }
}
