import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { ConflictError, NotFoundError } from "../../errors.js";
import { decodeCursor, takePage } from "../../http/pagination.js";
import { parseInput, uuidParam } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { findDelivery, listDeliveries, requeueFailedDelivery } from "./deliveries.store.js";
import type { WebhookPipeline } from "./webhook-pipeline.js";
import { createWebhookBody, listDeliveriesQuery, regenerateSecretBody, updateWebhookBody, type RedeliveryView } from "./webhooks.schema.js";
import { changeWebhook, createWebhook, getWebhook, listWebhooks, regenerateSecret, removeWebhook, type WebhookDeps } from "./webhooks.service.js";
import { findOrgWebhook } from "./webhooks.store.js";

const cursorSchema = z.object({ created_at: z.iso.datetime(), id: z.uuid() });

export function createWebhooksRouter(ctx: AppContext, pipeline: WebhookPipeline): Router {
  const router = Router();
  const deps = (): WebhookDeps => ({
    knex: ctx.knex,
    encryptionKey: ctx.secrets.encryptionKey,
    publicUrl: ctx.config.PUBLIC_URL,
    resolver: pipeline.resolver,
  });
  const ownWebhook = async (orgId: string, rawId: unknown) => {
    const id = uuidParam(rawId, "Webhook");
    const webhook = await findOrgWebhook(ctx.knex, orgId, id);
    if (!webhook) throw new NotFoundError(`Webhook ${id} not found`);
    return webhook;
  };

  router.post("/webhooks", async (req, res) => {
    const body = parseInput(createWebhookBody, req.body);
    res.status(201).json(await createWebhook(deps(), requestAuth(req).orgId, body));
  });

  router.get("/webhooks", async (req, res) => {
    res.json(await listWebhooks(deps(), requestAuth(req).orgId));
  });

  router.get("/webhooks/:id", async (req, res) => {
    res.json(await getWebhook(deps(), requestAuth(req).orgId, uuidParam(req.params.id, "Webhook")));
  });

  router.patch("/webhooks/:id", async (req, res) => {
    const id = uuidParam(req.params.id, "Webhook");
    const body = parseInput(updateWebhookBody, req.body);
    res.json(await changeWebhook(deps(), requestAuth(req).orgId, id, body));
  });

  router.delete("/webhooks/:id", async (req, res) => {
    await removeWebhook(deps(), requestAuth(req).orgId, uuidParam(req.params.id, "Webhook"));
    res.status(204).end();
  });

  router.post("/webhooks/:id/regenerate-secret", async (req, res) => {
    const id = uuidParam(req.params.id, "Webhook");
    const body = parseInput(regenerateSecretBody, req.body);
    res.json(await regenerateSecret(deps(), requestAuth(req).orgId, id, body.grace_period_seconds));
  });

  router.get("/webhooks/:id/deliveries", async (req, res) => {
    const webhook = await ownWebhook(requestAuth(req).orgId, req.params.id);
    const query = parseInput(listDeliveriesQuery, req.query);
    const before = decodeCursor(query.cursor, cursorSchema);
    const rows = await listDeliveries(ctx.knex, {
      webhook_id: webhook.id,
      status: query.status,
      event_type: query.event_type,
      delivery_guid: query.delivery_guid,
      before,
      limit: query.limit + 1,
    });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, rows, query.limit, (last) => ({ created_at: last.created_at.toISOString(), id: last.id })));
  });

  router.get("/webhooks/:id/deliveries/:deliveryId", async (req, res) => {
    const webhook = await ownWebhook(requestAuth(req).orgId, req.params.id);
    const deliveryId = uuidParam(req.params.deliveryId, "Delivery");
    const delivery = await findDelivery(ctx.knex, webhook.id, deliveryId);
    if (!delivery) throw new NotFoundError(`Delivery ${deliveryId} not found`);
    const { payload, ...rest } = delivery;
    res.type("application/json").send(withStoredPayload(rest, payload));
  });

  router.post("/webhooks/:id/deliveries/:deliveryId/redeliver", async (req, res) => {
    const webhook = await ownWebhook(requestAuth(req).orgId, req.params.id);
    const deliveryId = uuidParam(req.params.deliveryId, "Delivery");
    const delivery = await findDelivery(ctx.knex, webhook.id, deliveryId);
    if (!delivery) throw new NotFoundError(`Delivery ${deliveryId} not found`);
    if (!(await requeueFailedDelivery(ctx.knex, webhook.id, deliveryId))) {
      throw new ConflictError(`Only failed deliveries can be redelivered; this one is ${delivery.status}`, { status: delivery.status });
    }
    pipeline.wake();
    const view: RedeliveryView = { delivery_id: deliveryId, status: "received" };
    res.status(202).json(view);
  });

  return router;
}

/** The stored document as JSON when it parses (it does, except for deliveries logged as invalid JSON). */
/**
 * The delivery as JSON text with its stored payload spliced in as it arrived when it is JSON (a
 * string otherwise): re-serialising a parsed document is recursive and fails on deep nesting.
 */
function withStoredPayload(delivery: Record<string, unknown>, payload: string | null): string {
  const head = JSON.stringify(delivery);
  const payloadJson = payload !== null && isJsonText(payload) ? payload : JSON.stringify(payload);
  return `${head.slice(0, -1)}${head === "{}" ? "" : ","}"payload":${payloadJson}}`;
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text); // iterative in V8: safe at any depth
    return true;
  } catch {
    return false;
  }
}
