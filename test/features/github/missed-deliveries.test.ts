import nock from "nock";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverMissedDeliveries } from "../../../src/features/github/recover-missed-deliveries.js";
import { githubAppEnv, sendAppDelivery } from "../../helpers/github-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { GITHUB_API } from "../../helpers/github-nock.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook } from "../../helpers/webhooks.js";

const JWT = /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i;
const HOUR = 3600_000;
const OPTIONS = { lookbackMs: 24 * HOUR, overlapMs: 10 * 60_000 };

let nextId = 1000;
/** One attempt as GitHub's App delivery log lists it. */
function attempt(guid: string, statusCode: number, agoMs: number, redelivery = false) {
  return {
    id: nextId++,
    guid,
    delivered_at: new Date(Date.now() - agoMs).toISOString(),
    redelivery,
    duration: 0.1,
    status: statusCode >= 200 && statusCode < 300 ? "OK" : "Invalid HTTP Response: 502",
    status_code: statusCode,
    event: "issues",
    action: "opened",
    installation_id: 101,
    repository_id: 9001,
  };
}

function issueFor(repository: string) {
  const payload = githubExample("issues", "opened");
  payload.repository.full_name = repository;
  payload.installation = { id: 101, node_id: "I" };
  return payload;
}

describe("missed-delivery recovery", () => {
  let app: TestApp;
  const logger = pino({ level: "silent" });

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv());
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("redelivers exactly the failed GUIDs Entourage does not have, once each, and remembers how far it looked", async () => {
    const acme = await app.bootstrap();
    await registerWebhook(app, acme.api_key, acme.team_id, { config: { repositories: ["acme/api"] } });
    const routed = await sendAppDelivery(app.url, "issues", issueFor("acme/api"));
    const unrouted = await sendAppDelivery(app.url, "issues", issueFor("acme/nobody"));
    expect([routed.status, unrouted.status]).toEqual([200, 200]);
    await app.db.knex("github_redelivery_requests").insert({ delivery_guid: "asked-before", hook_delivery_id: 1, event_type: "issues.opened" });

    const missingA = [attempt("missing-a", 502, 1 * HOUR, true), attempt("missing-a", 0, 2 * HOUR)];
    const recovered = [attempt("recovered", 200, 3 * HOUR, true), attempt("recovered", 500, 4 * HOUR)];
    const page1 = [
      ...missingA,
      ...recovered,
      attempt(routed.guid, 502, 5 * HOUR),
      attempt(unrouted.guid, 502, 5 * HOUR),
      attempt("asked-before", 502, 6 * HOUR),
    ];
    const missingB = attempt("missing-b", 503, 20 * HOUR);
    const page2 = [missingB, attempt("too-old", 502, 30 * HOUR)];

    const list = nock(GITHUB_API)
      .get("/app/hook/deliveries")
      .matchHeader("authorization", JWT)
      .query({ per_page: "100" })
      .reply(200, page1, { link: `<${GITHUB_API}/app/hook/deliveries?per_page=100&cursor=p2>; rel="next"` })
      .get("/app/hook/deliveries")
      .query({ per_page: "100", cursor: "p2" })
      // A third page exists, but everything on page 2 already reached the lookback: it is not read.
      .reply(200, page2, { link: `<${GITHUB_API}/app/hook/deliveries?per_page=100&cursor=p3>; rel="next"` });
    const redeliver = nock(GITHUB_API)
      .post(`/app/hook/deliveries/${missingA[0]!.id}/attempts`)
      .matchHeader("authorization", JWT)
      .reply(202, {})
      .post(`/app/hook/deliveries/${missingB.id}/attempts`)
      .reply(202, {});

    const first = await recoverMissedDeliveries({ knex: app.db.knex, github: app.ctx.github!, logger }, OPTIONS);
    expect(first.requested.sort()).toEqual(["missing-a", "missing-b"]);
    expect(list.isDone()).toBe(true);
    expect(redeliver.isDone()).toBe(true);
    const state = await app.db.knex("github_recovery_state").first();
    expect(state.checked_through.toISOString()).toBe(missingA[0]!.delivered_at);

    // The next pass reads back only to the mark (less the overlap) and asks for nothing twice.
    const again = nock(GITHUB_API)
      .get("/app/hook/deliveries")
      .query({ per_page: "100" })
      .reply(200, [attempt("missing-a", 502, 0), ...missingA, attempt("new-but-fine", 200, 0), attempt("older-than-mark", 502, 1.5 * HOUR)], {
        link: `<${GITHUB_API}/app/hook/deliveries?per_page=100&cursor=never>; rel="next"`,
      });
    const second = await recoverMissedDeliveries({ knex: app.db.knex, github: app.ctx.github!, logger }, OPTIONS);
    expect(second.requested).toEqual([]);
    expect(again.isDone()).toBe(true);
    expect(await app.db.knex("github_redelivery_requests").orderBy("delivery_guid").pluck("delivery_guid")).toEqual(["asked-before", "missing-a", "missing-b"]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("asks once even when GitHub refuses the redelivery, and records why", async () => {
    const old = attempt("expired", 502, 2 * HOUR);
    await app.db.knex("github_recovery_state").delete();
    nock(GITHUB_API).get("/app/hook/deliveries").query(true).reply(200, [old]);
    const refused = nock(GITHUB_API).post(`/app/hook/deliveries/${old.id}/attempts`).reply(422, { message: "Redelivery window has passed" });
    const result = await recoverMissedDeliveries({ knex: app.db.knex, github: app.ctx.github!, logger }, OPTIONS);
    expect(result.requested).toEqual([]);
    expect(refused.isDone()).toBe(true);
    expect(await app.db.knex("github_redelivery_requests").where({ delivery_guid: "expired" }).first()).toMatchObject({ status_code: 422, error: expect.stringMatching(/Redelivery window/) });

    nock(GITHUB_API).get("/app/hook/deliveries").query(true).reply(200, [old]);
    expect((await recoverMissedDeliveries({ knex: app.db.knex, github: app.ctx.github!, logger }, OPTIONS)).requested).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe("missed-delivery recovery on start", () => {
  let app: TestApp | undefined;
  afterAll(async () => {
    await app?.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("runs when the server starts with the App configured", async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    const failed = attempt("missed-while-down", 502, HOUR);
    const scope = nock(GITHUB_API)
      .get("/app/hook/deliveries")
      .query(true)
      .reply(200, [failed])
      .post(`/app/hook/deliveries/${failed.id}/attempts`)
      .reply(202, {});
    app = await startTestApp(githubAppEnv({ GITHUB_RECOVERY_INTERVAL_SECONDS: "3600" }));
    await waitFor(() => app!.db.knex("github_redelivery_requests").where({ delivery_guid: "missed-while-down", status_code: 202 }).first(), "the start-up pass");
    expect(scope.isDone()).toBe(true);
  });
});
