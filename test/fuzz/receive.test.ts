import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubSignatureNow } from "../helpers/github-signature.js";
import { githubExample } from "../helpers/github-examples.js";
import { waitFor } from "../helpers/wait-for.js";
import { createFuzzWorld, inBatches, type FuzzWorld } from "./helpers/fuzz-world.js";
import { bodyText, nastyString, nastyValue, pathId } from "./helpers/hostile-values.js";
import { printable, type RawRequest } from "./helpers/raw-request.js";

// 400 runs × 10 requests: 4,000 generated deliveries against the receive endpoint per run.
const RUNS = 400;
const PER_RUN = 10;

const EXAMPLES = [githubExample("issues", "opened"), githubExample("pull_request", "opened"), githubExample("issues", "labeled")];

describe("hostile input against the receive endpoint", () => {
  let world: FuzzWorld;

  beforeAll(async () => {
    world = await createFuzzWorld();
  }, 60_000);
  afterAll(() => world?.close());

  it(`never answers 5xx, refuses in JSON, never shows another org's data (${RUNS * PER_RUN} requests)`, async () => {
    const { aGithub, aCustom, aInactive, bGithub } = world;
    const hooks = [aGithub, aCustom, aInactive, bGithub];
    // Real documents with hostile values planted at the fields rules read.
    const mutated = fc
      .record({
        example: fc.constantFrom(...EXAMPLES),
        action: fc.option(nastyString, { nil: undefined }),
        title: fc.option(nastyValue, { nil: undefined }),
        number: fc.option(nastyValue, { nil: undefined }),
        extra: fc.dictionary(nastyString, nastyValue, { maxKeys: 3 }),
      })
      .map(({ example, action, title, number, extra }) => {
        const doc = structuredClone(example) as Record<string, any>;
        const item = doc.issue ?? doc.pull_request;
        if (action !== undefined) doc.action = action;
        if (title !== undefined) item.title = title;
        if (number !== undefined) item.number = number;
        return { ...doc, ...extra };
      });
    const custom = fc.record(
      { event: fc.constantFrom("task.create", "task.update", "task.close", "nope"), external_id: nastyValue, title: nastyValue, priority: nastyValue, tags: nastyValue },
      { requiredKeys: [] },
    );
    const request: fc.Arbitrary<RawRequest> = fc
      .record({
        hook: fc.nat(hooks.length - 1),
        id: fc.option(pathId([aGithub.id, bGithub.id]), { nil: undefined, freq: 3 }),
        body: bodyText(fc.oneof(mutated, custom) as fc.Arbitrary<Record<string, unknown>>),
        form: fc.boolean(),
        signature: fc.constantFrom("valid", "valid", "valid", "valid", "missing", "forged", "other-body", "sha1", "twice", "empty"),
        contentType: fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json, text/plain"),
        event: fc.option(fc.oneof(fc.constantFrom("issues", "pull_request", "ping", "push"), nastyString), { nil: undefined, freq: 5 }),
        customEvent: fc.option(fc.oneof(fc.constantFrom("task.create", "task.update", "task.close"), nastyString), { nil: undefined, freq: 3 }),
        guid: fc.oneof(fc.uuid(), nastyString, fc.constant("x".repeat(300)), fc.constant("same-guid")),
      })
      .map(({ hook, id, body, form, signature, contentType, event, customEvent, guid }) => {
        const target = hooks[hook]!;
        const payload = form ? `payload=${encodeURIComponent(body.replace(/[\ud800-\udfff]/g, "?"))}` : body;
        // The attacker does not know the other org's secret: for its webhook, "valid" means signed with A's.
        const secret = target === bGithub || id !== undefined ? aGithub.secret : target.secret;
        const good = githubSignatureNow(secret, payload);
        const headers: [string, string][] = [];
        const clean = (value: string) => value.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, "").slice(0, 500);
        if (contentType) headers.push(["content-type", form ? "application/x-www-form-urlencoded" : contentType]);
        if (event !== undefined) headers.push(["x-github-event", clean(event)]);
        if (customEvent !== undefined) headers.push(["x-entourage-event", clean(customEvent)]);
        headers.push(["x-github-delivery", clean(guid)]);
        if (signature === "valid") headers.push(["x-hub-signature-256", good]);
        if (signature === "forged") headers.push(["x-hub-signature-256", `sha256=${randomUUID().replace(/-/g, "").repeat(2)}`]);
        if (signature === "other-body") headers.push(["x-hub-signature-256", githubSignatureNow(secret, `${payload} `)]);
        if (signature === "sha1") headers.push(["x-hub-signature", `sha1=${good.slice(7, 47)}`]);
        if (signature === "twice") headers.push(["x-hub-signature-256", "sha256=00"], ["x-hub-signature-256", good]);
        if (signature === "empty") headers.push(["x-hub-signature-256", ""]);
        return printable({ method: "POST", path: `/api/v1/webhooks/${id ?? target.id}/receive`, headers, body: payload });
      });

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: PER_RUN, maxLength: PER_RUN }), async (requests) => {
        await inBatches(requests, PER_RUN, async (req) => {
          const res = await world.send(req);
          world.expectSafe(req, res);
          // Only a delivery signed with the webhook's own secret is ever acknowledged.
          const signed = req.headers.some(([name, value]) => name === "x-hub-signature-256" && value.length > 10);
          if (res.status === 202 || res.status === 200) expect(signed, `acknowledged without a valid signature: ${req.path}`).toBe(true);
        });
      }),
      { numRuns: RUNS, endOnFailure: false },
    );
    expect(world.sent()).toBeGreaterThanOrEqual(RUNS * PER_RUN);

    // Nothing reached the other org: its webhook took no delivery but the one it was given.
    const victim = (await world.app.ctx.knex("deliveries").where({ webhook_id: bGithub.id }).whereNot("status", "rejected").count({ n: "*" }).first()) as { n: number };
    expect(victim.n).toBe(0);
    // The server is healthy and its worker still works through the queue.
    expect((await world.app.request("GET", "/healthz")).status).toBe(200);
    await waitFor(
      async () => {
        const row = (await world.app.ctx.knex("deliveries").where({ status: "received" }).where("next_attempt_at", "<=", world.app.ctx.knex.fn.now()).count({ n: "*" }).first()) as { n: number };
        return row.n === 0;
      },
      "the worker to drain what was acknowledged",
      60_000,
      250,
    );
  });
});
