import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { decodeCursor, takePage } from "../../http/pagination.js";
import { parseInput, uuidParam } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import {
  createOutboundWebhookBody,
  listOutboundDeliveriesQuery,
  listOutboundWebhooksQuery,
  updateOutboundWebhookBody,
} from "./outbound-webhooks.schema.js";
import {
  createOutboundWebhook,
  getOutboundDelivery,
  getOutboundWebhook,
  listOutboundDeliveries,
  patchOutboundWebhook,
  redeliverOutboundDelivery,
  removeOutboundWebhook,
  rotateOutboundWebhookSecret,
  toOutboundWebhookView,
  type OutboundServiceDeps,
} from "./outbound-webhooks.service.js";
import { listOutboundWebhooks } from "./outbound-webhooks.store.js";

const endpointCursor = z.object({ created_at: z.iso.datetime(), id: z.uuid() });
const deliveryCursor = z.object({ event_id: z.number().int().positive(), id: z.uuid() });

/** /outbound-webhooks: endpoints that receive signed task events, and their delivery log. */
export function createOutboundWebhooksRouter(ctx: AppContext): Router {
  const router = Router();
  const deps: OutboundServiceDeps = {
    knex: ctx.knex,
    encryptionKey: ctx.secrets.encryptionKey,
    allowPrivateOutbound: ctx.config.ALLOW_PRIVATE_OUTBOUND,
  };
  const endpointId = (value: unknown) => uuidParam(value, "Outbound webhook");

  router.post("/outbound-webhooks", async (req, res) => {
    const body = parseInput(createOutboundWebhookBody, req.body);
    const created = await createOutboundWebhook(deps, requestAuth(req).orgId, body);
    res.status(201).location(`${ctx.config.PUBLIC_URL}/api/v1/outbound-webhooks/${created.id}`).json(created);
  });

  router.get("/outbound-webhooks", async (req, res) => {
    const query = parseInput(listOutboundWebhooksQuery, req.query);
    const after = decodeCursor(query.cursor, endpointCursor);
    const rows = await listOutboundWebhooks(ctx.knex, { org_id: requestAuth(req).orgId, after, limit: query.limit + 1 });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, rows, query.limit, (last) => ({ created_at: last.created_at.toISOString(), id: last.id })).map(toOutboundWebhookView));
  });

  router.get("/outbound-webhooks/:id", async (req, res) => {
    res.json(toOutboundWebhookView(await getOutboundWebhook(ctx.knex, requestAuth(req).orgId, endpointId(req.params.id))));
  });

  router.patch("/outbound-webhooks/:id", async (req, res) => {
    const id = endpointId(req.params.id);
    const body = parseInput(updateOutboundWebhookBody, req.body);
    res.json(await patchOutboundWebhook(deps, requestAuth(req).orgId, id, body));
  });

  router.delete("/outbound-webhooks/:id", async (req, res) => {
    await removeOutboundWebhook(ctx.knex, requestAuth(req).orgId, endpointId(req.params.id));
    res.status(204).end();
  });

  router.post("/outbound-webhooks/:id/rotate-secret", async (req, res) => {
    res.json(await rotateOutboundWebhookSecret(deps, requestAuth(req).orgId, endpointId(req.params.id)));
  });

  router.get("/outbound-webhooks/:id/deliveries", async (req, res) => {
    const id = endpointId(req.params.id);
    const query = parseInput(listOutboundDeliveriesQuery, req.query);
    const before = decodeCursor(query.cursor, deliveryCursor);
    const rows = await listOutboundDeliveries(ctx.knex, requestAuth(req).orgId, id, { status: query.status, before, limit: query.limit + 1 });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, rows, query.limit, (last) => ({ event_id: last.event_id, id: last.id })));
  });

  router.get("/outbound-webhooks/:id/deliveries/:deliveryId", async (req, res) => {
    const id = endpointId(req.params.id);
    res.json(await getOutboundDelivery(ctx.knex, requestAuth(req).orgId, id, uuidParam(req.params.deliveryId, "Delivery")));
  });

  router.post("/outbound-webhooks/:id/deliveries/:deliveryId/redeliver", async (req, res) => {
    const id = endpointId(req.params.id);
    res.status(202).json(await redeliverOutboundDelivery(ctx.knex, requestAuth(req).orgId, id, uuidParam(req.params.deliveryId, "Delivery")));
  });

  return router;
}
