import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubSignature } from "../helpers/github-signature.js";
import { githubExample } from "../helpers/github-examples.js";
import { createFuzzWorld, inBatches, type FuzzWorld } from "./helpers/fuzz-world.js";
import { deeplyNested, nastyString } from "./helpers/hostile-values.js";
import { printable } from "./helpers/raw-request.js";

const RUNS = 60;
const PER_RUN = 5;

/** Strings with control characters where header values end or split: CR, LF, NUL, and their neighbours. */
const controlString: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom("\r", "\n", "\u0000", "\r\n", "\t", "\u000b", "\u001f", "\u007f", "\u0085", "\u2028", ""),
    fc.oneof(fc.string({ maxLength: 8 }), nastyString),
  )
  .map(([head, control, tail]) => `k${head}${control}${tail}`.slice(0, 1000));

describe("hostile structure and control characters", () => {
  let world: FuzzWorld;

  beforeAll(async () => {
    world = await createFuzzWorld();
  }, 60_000);
  afterAll(() => world?.close());

  it(`signed deliveries nested up to 100,000 levels are acknowledged and read back (${RUNS * PER_RUN} requests)`, async () => {
    const { aGithub } = world;
    const delivery = fc
      .record({
        depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 100_000 })),
        kind: fc.constantFrom("array" as const, "object" as const),
        where: fc.constantFrom("extra", "title", "labels"),
      })
      .map(({ depth, kind, where }) => {
        const doc = structuredClone(githubExample("issues", "opened")) as Record<string, any>;
        const marker = `"__deep_${where}__"`;
        if (where === "extra") doc.extra = "__deep_extra__";
        if (where === "title") doc.issue.title = "__deep_title__";
        if (where === "labels") doc.issue.labels = "__deep_labels__";
        return JSON.stringify(doc).replace(marker, deeplyNested(depth, kind));
      });

    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: PER_RUN, maxLength: PER_RUN }), async (bodies) => {
        await inBatches(bodies, PER_RUN, async (body) => {
          const req = printable({
            method: "POST",
            path: `/api/v1/webhooks/${aGithub.id}/receive`,
            headers: [
              ["content-type", "application/json"],
              ["x-github-event", "issues"],
              ["x-github-delivery", crypto.randomUUID()],
              ["x-hub-signature-256", await githubSignature(aGithub.secret, body)],
            ],
            body,
          });
          const res = await world.send(req);
          world.expectSafe(req, res);
          expect(res.status, res.text.slice(0, 300)).toBeLessThan(300);
          const id = JSON.parse(res.text).delivery_id as string;
          const shown = await world.app.request("GET", `/api/v1/webhooks/${aGithub.id}/deliveries/${id}`, { key: world.a.api_key });
          expect(shown.status).toBe(200);
        });
      }),
      { numRuns: RUNS, endOnFailure: false },
    );
  });

  it("an outbound api_key with CR, LF or NUL is a 400 naming api_key; no answer ever repeats a key", async () => {
    await fc.assert(
      fc.asyncProperty(controlString, fc.boolean(), async (apiKey, update) => {
        const created = await world.app.request("POST", "/api/v1/outbound-webhooks", {
          key: world.a.api_key,
          body: { url: "https://hooks.example.com/x", events: ["*"], ...(update ? {} : { api_key: apiKey }) },
        });
        expect(created.status).toBeLessThan(500);
        let res = created;
        if (update && created.status === 201) {
          res = await world.app.request("PATCH", `/api/v1/outbound-webhooks/${created.body.id}`, { key: world.a.api_key, body: { api_key: apiKey } });
        }
        const unsafe = /[\r\n\u0000]/.test(apiKey);
        if (unsafe) {
          expect(res.status).toBe(400);
          expect(res.body.error.details).toEqual([expect.objectContaining({ field: "api_key" })]);
        } else {
          expect([200, 201]).toContain(res.status);
        }
        if (apiKey.length > 3) expect(res.text).not.toContain(apiKey);
        const id = created.body?.id;
        if (id) await world.app.request("DELETE", `/api/v1/outbound-webhooks/${id}`, { key: world.a.api_key });
      }),
      { numRuns: 150 },
    );
  });
});
