import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials } from "./helpers/credentials.js";
import { createFuzzWorld, expectOtherOrgUntouched, inBatches, snapshotOtherOrg, type FuzzWorld } from "./helpers/fuzz-world.js";
import { nastyString, nastyValue } from "./helpers/hostile-values.js";
import { printable, type RawRequest } from "./helpers/raw-request.js";

// 120 runs × 10 requests: 1,200 generated MCP calls per run.
const RUNS = 120;
const PER_RUN = 10;
const TOOLS = ["list_my_tasks", "get_task", "update_task_status", "create_subtasks", "add_task_comment", "list_pending_reviews", "get_review", "submit_review", "no_such_tool"];

describe("hostile input against MCP, and isolation between orgs", () => {
  let world: FuzzWorld;

  beforeAll(async () => {
    world = await createFuzzWorld();
  }, 60_000);
  afterAll(() => world?.close());

  it(`MCP tool calls never answer 5xx nor show another org's data (${RUNS * PER_RUN} requests)`, async () => {
    const { aIds, bIds } = world;
    const before = await snapshotOtherOrg(world);
    const realIds = [aIds.task, bIds.task, Number(aIds.task), Number(bIds.task), aIds.agent, bIds.agent];
    const arg = fc.oneof({ weight: 2, arbitrary: fc.constantFrom<unknown>(...realIds) }, { weight: 3, arbitrary: nastyValue });
    const args = fc.dictionary(fc.constantFrom("task_id", "status", "body", "subtasks", "title", "review_id", "verdict", "comments", "note", nastyString.toString()), arg, { maxKeys: 4 });
    const rpc = fc.oneof(
      { weight: 6, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id: fc.nat(), method: fc.constant("tools/call"), params: fc.record({ name: fc.constantFrom(...TOOLS), arguments: args }) }) },
      { weight: 1, arbitrary: fc.record({ jsonrpc: fc.constant("2.0"), id: fc.nat(), method: fc.constantFrom("initialize", "tools/list", "ping", "resources/list", "nope") }) },
      { weight: 1, arbitrary: nastyValue },
    );
    const request: fc.Arbitrary<RawRequest> = fc
      .record({
        body: fc.oneof({ weight: 8, arbitrary: rpc.map((value) => JSON.stringify(value) ?? "") }, { weight: 1, arbitrary: fc.constantFrom("", "{", "[]", "null") }),
        auth: credentials(world.a.api_key, world.a.org_id, world.b.org_id),
        agent: fc.oneof({ weight: 4, arbitrary: fc.constant(aIds.agent) }, { weight: 2, arbitrary: fc.constant(bIds.agent) }, { weight: 1, arbitrary: nastyString }),
        accept: fc.constantFrom("application/json, text/event-stream", "application/json, text/event-stream", "application/json", "*/*"),
      })
      .map(({ body, auth, agent, accept }) =>
        printable({
          method: "POST",
          path: "/mcp",
          headers: [...auth, ["content-type", "application/json"], ["accept", accept], ["x-entourage-agent", agent.replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, "").slice(0, 200)]],
          body,
        }),
      );

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: PER_RUN, maxLength: PER_RUN }), async (requests) => {
        await inBatches(requests, PER_RUN, async (req) => world.expectSafe(req, await world.send(req), { jsonRpc: true }));
      }),
      { numRuns: RUNS, endOnFailure: false },
    );
    expect(world.sent()).toBeGreaterThanOrEqual(RUNS * PER_RUN);

    await expectOtherOrgUntouched(world, before);
    expect((await world.app.request("GET", "/healthz")).status).toBe(200);
  });
});
