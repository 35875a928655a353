import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { unpackPayload } from "../../src/features/webhooks/stored-payload.js";
import { githubSignature } from "./github-signature.js";
import type { TestApp, TestResponse } from "./test-app.js";
import { request } from "./test-app.js";
import { waitFor } from "./wait-for.js";

export interface RegisteredWebhook {
  id: string;
  secret: string;
  receive_url: string;
  [key: string]: any;
}

/** Registers a webhook through the API and returns it with its secret. */
export async function registerWebhook(
  app: TestApp,
  key: string,
  teamId: string,
  body: { provider?: "github" | "custom"; events?: string[]; config?: Record<string, unknown>; name?: string } = {},
): Promise<RegisteredWebhook> {
  const res = await app.request("POST", "/api/v1/webhooks", {
    key,
    body: {
      provider: body.provider ?? "github",
      events: body.events ?? ["issues.*", "pull_request.*"],
      config: { team_id: teamId, ...body.config },
      ...(body.name ? { name: body.name } : {}),
    },
  });
  if (res.status !== 201) throw new Error(`webhook registration failed: ${res.status} ${res.text}`);
  return res.body;
}

export interface SendOptions {
  event?: string;
  guid?: string;
  /** Defaults to signing the exact body with the secret. */
  signature?: string | null;
  form?: boolean;
  headers?: Record<string, string>;
}

/** Posts a delivery to a webhook's receive URL the way GitHub does (or a custom sender, with `headers`). */
export async function sendDelivery(baseUrl: string, webhook: { id: string; secret: string }, payload: unknown, options: SendOptions = {}): Promise<TestResponse & { guid: string }> {
  const json = typeof payload === "string" ? payload : JSON.stringify(payload);
  const body = options.form ? `payload=${encodeURIComponent(json)}` : json;
  const guid = options.guid ?? randomUUID();
  const headers: Record<string, string> = {
    "content-type": options.form ? "application/x-www-form-urlencoded" : "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-delivery": guid,
    ...(options.event ? { "x-github-event": options.event } : {}),
    ...options.headers,
  };
  const signature = options.signature === undefined ? await githubSignature(webhook.secret, body) : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await request(baseUrl, "POST", `/api/v1/webhooks/${webhook.id}/receive`, { body, headers });
  return { ...res, guid };
}

/** Sends a delivery, expects it acknowledged (202), and waits until the worker has finished it; returns its row. */
export async function deliverAndWait(app: TestApp, webhook: { id: string; secret: string }, payload: unknown, options: SendOptions = {}) {
  const res = await sendDelivery(app.url, webhook, payload, options);
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${res.text}`);
  return waitFor(async () => {
    const row = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
    return row && row.status !== "received" && row;
  }, `delivery ${res.body.delivery_id} to be processed`);
}

/** A delivery's row with its payload as text (stored deflated: src/features/webhooks/stored-payload.ts). */
export async function storedDelivery(knex: Knex, id: string) {
  const row = await knex("deliveries").where({ id }).first();
  return row && { ...row, payload: unpackPayload(row) };
}
