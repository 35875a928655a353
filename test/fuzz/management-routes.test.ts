import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FuzzWorld, createFuzzWorld, expectOtherOrgUntouched, inBatches, snapshotOtherOrg } from "./helpers/fuzz-world.js";
import { credentials } from "./helpers/credentials.js";
import { bodyText, nastyString, nastyValue, pathId } from "./helpers/hostile-values.js";
import { printable, type RawRequest } from "./helpers/raw-request.js";

// 500 runs × 10 requests: 5,000 generated requests against the management API per run.
const RUNS = 500;
const PER_RUN = 10;

type IdKind = "team" | "agent" | "task" | "webhook" | "delivery" | "outbound" | "outboundDelivery" | "apiKey";

/** Every management route: [method, path template]. `{kind}` is filled with a real or hostile id. */
const ROUTES: [string, string][] = [
  ["POST", "/api/v1/auth/token"],
  ["GET", "/api/v1/api-keys"],
  ["POST", "/api/v1/api-keys"],
  ["DELETE", "/api/v1/api-keys/{apiKey}"],
  ["GET", "/api/v1/teams"],
  ["POST", "/api/v1/teams"],
  ["GET", "/api/v1/teams/{team}/agents"],
  ["POST", "/api/v1/teams/{team}/agents"],
  ["PATCH", "/api/v1/agents/{agent}"],
  ["GET", "/api/v1/tasks"],
  ["POST", "/api/v1/tasks"],
  ["GET", "/api/v1/tasks/{task}"],
  ["PATCH", "/api/v1/tasks/{task}"],
  ["POST", "/api/v1/tasks/{task}/subtasks"],
  ["GET", "/api/v1/tasks/{task}/comments"],
  ["POST", "/api/v1/tasks/{task}/comments"],
  ["POST", "/api/v1/webhooks"],
  ["GET", "/api/v1/webhooks"],
  ["GET", "/api/v1/webhooks/{webhook}"],
  ["PATCH", "/api/v1/webhooks/{webhook}"],
  ["DELETE", "/api/v1/webhooks/{webhook}"],
  ["POST", "/api/v1/webhooks/{webhook}/regenerate-secret"],
  ["GET", "/api/v1/webhooks/{webhook}/deliveries"],
  ["GET", "/api/v1/webhooks/{webhook}/deliveries/{delivery}"],
  ["POST", "/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver"],
  ["POST", "/api/v1/outbound-webhooks"],
  ["GET", "/api/v1/outbound-webhooks"],
  ["GET", "/api/v1/outbound-webhooks/{outbound}"],
  ["PATCH", "/api/v1/outbound-webhooks/{outbound}"],
  ["DELETE", "/api/v1/outbound-webhooks/{outbound}"],
  ["POST", "/api/v1/outbound-webhooks/{outbound}/rotate-secret"],
  ["GET", "/api/v1/outbound-webhooks/{outbound}/deliveries"],
  ["GET", "/api/v1/outbound-webhooks/{outbound}/deliveries/{outboundDelivery}"],
  ["POST", "/api/v1/outbound-webhooks/{outbound}/deliveries/{outboundDelivery}/redeliver"],
  ["GET", "/api/v1/events"],
  ["GET", "/api/v1/nope/{task}"],
];

/** Field names any of the bodies reads, so generated objects get past "unknown key" often enough. */
const FIELDS = [
  "org_id", "team_id", "name", "provider", "events", "config", "active", "title", "description", "priority", "task_type",
  "status", "tags", "parent_id", "depends_on", "assignee_id", "subtasks", "body", "author_agent_id", "role", "url",
  "api_key", "expires_in", "grace_period_seconds", "auto_assign", "repositories", "__proto__", "constructor",
];
const QUERY_KEYS = ["limit", "cursor", "status", "event_type", "types", "team_id", "last_event_id", "kind", "assignee_id", "tag", "access_token"];

describe("hostile input against the management API", () => {
  let world: FuzzWorld;

  beforeAll(async () => {
    world = await createFuzzWorld();
  }, 60_000);
  afterAll(() => world?.close());

  it(`never answers 5xx, refuses in JSON and never shows another org's data (${RUNS * PER_RUN} requests)`, async () => {
    const { aIds, bIds } = world;
    const before = await snapshotOtherOrg(world);
    // The caller's own key is never offered for deletion: it would end the run's reach.
    const ids = (kind: IdKind) => pathId(kind === "apiKey" ? [aIds.apiKey, bIds.apiKey] : [aIds[kind], bIds[kind]]);
    const realIds = [...Object.values(aIds), ...Object.values(bIds), Number(aIds.task), Number(bIds.task)];
    const value = fc.oneof({ weight: 3, arbitrary: nastyValue }, { weight: 2, arbitrary: fc.constantFrom<unknown>(...realIds) });
    const objectLike = fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: nastyString }), value, { maxKeys: 6 });

    const path = fc.constantFrom(...ROUTES).chain(([method, template]) => {
      const kinds = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as IdKind);
      return fc.record({
        method: fc.oneof({ weight: 8, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") }),
        filled: fc.tuple(...kinds.map(ids)).map((values) => kinds.reduce((p, kind, i) => p.replace(`{${kind}}`, values[i]!), template)),
        query: fc.option(fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), nastyString) as fc.Arbitrary<[string, string]>, { maxLength: 3 }), { nil: undefined }),
      });
    });
    const request: fc.Arbitrary<RawRequest> = fc
      .record({
        route: path,
        auth: credentials(world.a.api_key, world.a.org_id, world.b.org_id),
        body: fc.option(bodyText(objectLike), { nil: undefined, freq: 4 }),
        contentType: fc.constantFrom("application/json", "application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", ""),
        lastEventId: fc.option(nastyString, { nil: undefined, freq: 8 }),
      })
      .map(({ route, auth, body, contentType, lastEventId }) => {
        const query = route.query?.length ? `?${new URLSearchParams(route.query).toString()}` : "";
        const headers: [string, string][] = [...auth];
        if (contentType) headers.push(["content-type", contentType]);
        if (lastEventId !== undefined) headers.push(["last-event-id", lastEventId.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, "")]);
        const withBody = route.method !== "GET" && route.method !== "DELETE" ? body : undefined;
        return printable({ method: route.method, path: route.filled + query, headers, body: withBody });
      });

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: PER_RUN, maxLength: PER_RUN }), async (requests) => {
        await inBatches(requests, PER_RUN, async (req) => world.expectSafe(req, await world.send(req)));
      }),
      { numRuns: RUNS, endOnFailure: false },
    );
    expect(world.sent()).toBeGreaterThanOrEqual(RUNS * PER_RUN);
    await expectOtherOrgUntouched(world, before);
    expect((await world.app.request("GET", "/healthz")).status).toBe(200);
  });
});
