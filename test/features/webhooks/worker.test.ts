import type { Knex } from "knex";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import type { DeliveryProcessor } from "../../../src/features/webhooks/delivery-processor.js";
import { appendEvents } from "../../../src/features/events/events.store.js";
import { claimDeliveries } from "../../../src/features/webhooks/deliveries.store.js";
import { DeliveryWorker } from "../../../src/features/webhooks/delivery-worker.js";
import { githubExample } from "../../helpers/github-examples.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const silent = pino({ level: "silent" });

/** Rules that note the transaction each issue went in, and hold issue 1's until `held` settles. */
function holdingIssueOne(entered: number[], transactions: Map<number, string>, held: Promise<void>): DeliveryProcessor {
  return async (trx, { payload }) => {
    const number = (payload.issue as { number: number }).number;
    entered.push(number);
    if (number === 1) await held;
    transactions.set(number, String((await trx.raw("SELECT txid_current() AS id")).rows[0].id));
    return { actions: [] };
  };
}

/**
 * Issue 1 is held (its rules wait for `release`) while 2 and 3 arrive, so they go together as a group
 * of two; 4, 5 and 6, sent as soon as that group has committed, must then wait for the gathering
 * window and go as one transaction of their own.
 */
async function expectGroupThenGathered(harness: {
  send: (number: number) => Promise<{ status: number }>;
  entered: number[];
  transactions: Map<number, string>;
  release: () => void;
}): Promise<void> {
  const { send, entered, transactions } = harness;
  expect((await send(1)).status).toBe(202);
  await waitFor(() => entered.includes(1), "issue 1's rules to start");
  for (const number of [2, 3]) expect((await send(number)).status).toBe(202);
  harness.release();
  await waitFor(() => transactions.size === 3, "issue 1 alone, then 2 and 3 together");
  for (const number of [4, 5, 6]) expect((await send(number)).status).toBe(202);
  await waitFor(() => transactions.size === 6, "all six processed");
  expect(new Set([4, 5, 6].map((number) => transactions.get(number))).size).toBe(1);
  expect(transactions.get(4)).not.toBe(transactions.get(2));
}

describe("delivery worker", () => {
  describe("a processor that throws", () => {
    let app: TestApp;
    let acme: BootstrapResult;
    let webhook: RegisteredWebhook;
    let calls = 0;
    let failUntil = Infinity;

    beforeAll(async () => {
      app = await startTestApp(
        {},
        {
          processor: async (trx, { delivery }) => {
            calls++;
            // Effects inside the transaction must vanish with the rollback.
            await trx("events").insert({ org_id: delivery.org_id, type: "test.side_effect", data: {} });
            if (calls < failUntil) throw new Error(`rule exploded (call ${calls})`);
            return { actions: ["recovered"] };
          },
          worker: { maxAttempts: 3, backoffSeconds: () => 0, pollMs: 50 },
        },
      );
      acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
    });
    afterAll(() => app.close());

    it("is retried with backoff up to the limit, then the delivery is failed with the error", async () => {
      calls = 0;
      failUntil = Infinity;
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      const row = await waitFor(async () => {
        const r = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
        return r.status === "failed" && r;
      }, "failure");
      expect(row.attempts).toBe(3);
      expect(row.error).toBe("rule exploded (call 3)");
      expect(calls).toBe(3);
      const events = await app.db.knex("events").whereRaw("data->>'delivery_id' = ?", [res.body.delivery_id]).orderBy("id");
      expect(events.map((e) => e.type)).toEqual(["delivery.received", "delivery.failed"]);
      // What the dashboard and outbound endpoints are told: the delivery, its team, why and after how many attempts.
      expect(events[1]).toMatchObject({
        org_id: acme.org_id,
        team_id: acme.team_id,
        data: {
          delivery_id: res.body.delivery_id,
          webhook_id: webhook.id,
          event_type: "issues.opened",
          delivery_guid: res.guid,
          status: "failed",
          error: "rule exploded (call 3)",
          attempts: 3,
        },
      });
      expect(await app.db.knex("events").where({ type: "test.side_effect" })).toEqual([]);
    });

    it("can be redelivered through the API once it is failed, and then succeeds", async () => {
      const failed = await app.db.knex("deliveries").where({ webhook_id: webhook.id, status: "failed" }).first();
      failUntil = 0; // the rule is fixed
      const early = await app.request("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/redeliver`, { key: acme.api_key });
      expect(early.status).toBe(202);
      const row = await waitFor(async () => {
        const r = await app.db.knex("deliveries").where({ id: failed.id }).first();
        return r.status === "processed" && r;
      }, "redelivery");
      expect(row.actions).toEqual(["recovered"]);
      expect(await app.db.knex("events").where({ type: "test.side_effect" })).toHaveLength(1);
      const processed = await app.db.knex("events").where({ type: "delivery.processed" }).whereRaw("data->>'delivery_id' = ?", [failed.id]).first();
      expect(processed).toMatchObject({ team_id: acme.team_id, data: { delivery_id: failed.id, status: "processed", actions: ["recovered"] } });

      const again = await app.request("POST", `/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/redeliver`, { key: acme.api_key });
      expect(again.status).toBe(409);
      expect(again.body.error.message).toMatch(/processed/);
    });
  });

  describe("claims and concurrency", () => {
    let app: TestApp;
    let acme: BootstrapResult;
    let webhook: RegisteredWebhook;
    const workers: DeliveryWorker[] = [];

    beforeAll(async () => {
      // Web only: the workers below are the only ones processing.
      app = await startTestApp({ ENTOURAGE_WORKER: "off" });
      acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
      await app.db.knex.schema.createTable("processed_by", (t) => {
        t.uuid("delivery_id");
        t.text("worker");
      });
    });
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    });
    afterAll(() => app.close());

    const recordingWorker = (name: string, extra: Partial<ConstructorParameters<typeof DeliveryWorker>[0]> = {}) => {
      const worker = new DeliveryWorker({
        knex: app.db.knex,
        logger: silent,
        workerId: name,
        pollMs: 50,
        processor: async (trx, { delivery }) => {
          await trx("processed_by").insert({ delivery_id: delivery.id, worker: name });
          return { actions: [`processed by ${name}`] };
        },
        ...extra,
      });
      workers.push(worker);
      return worker;
    };

    /** A transaction that claims due deliveries as a worker's does, on a connection of its own. */
    const claimElsewhere = async (holdSeconds: number) => {
      const trx = await app.db.knex.transaction();
      const claimed = await claimDeliveries(trx, 10, { holdSeconds });
      const pid = Number((await trx.raw("SELECT pg_backend_pid() AS pid")).rows[0].pid);
      return { trx, claimed, pid };
    };
    const statusOf = async (id: string) => (await app.db.knex("deliveries").where({ id }).first()) as { status: string; attempts: number; actions: string[] };
    const processedBy = async (id: string) => (await app.db.knex("processed_by").where({ delivery_id: id })).map((row) => row.worker);

    it("keeps a delivery claimed by a live transaction from other workers, and lets one take it at once when that worker dies", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      const elsewhere = await claimElsewhere(60);
      expect(elsewhere.claimed.map((d) => d.id)).toEqual([res.body.delivery_id]);
      expect(elsewhere.claimed[0]!.attempts).toBe(1);

      const survivor = recordingWorker("survivor");
      await survivor.start();
      // The survivor is at work (it took a later delivery), and the claimed one waits for its transaction.
      const later = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      await waitFor(async () => (await statusOf(later.body.delivery_id)).status === "processed", "the later delivery processed");
      expect((await statusOf(res.body.delivery_id)).status).toBe("received");

      // The claiming worker dies: its session ends, and with it the claim.
      await app.db.knex.raw("SELECT pg_terminate_backend(?)", [elsewhere.pid]);
      await elsewhere.trx.rollback().catch(() => undefined);
      survivor.wake();
      const row = await waitFor(async () => {
        const r = await statusOf(res.body.delivery_id);
        return r.status === "processed" ? r : undefined;
      }, "takeover");
      expect(row.attempts).toBe(1); // the dead worker's attempt committed nothing, not even its count
      expect(row.actions).toEqual(["processed by survivor"]);
      expect(await processedBy(res.body.delivery_id)).toEqual(["survivor"]);
    });

    it("takes a delivery from a worker that stops answering mid-transaction once it has held it for holdSeconds", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      const stuck = await claimElsewhere(1);
      expect(stuck.claimed.map((d) => d.id)).toEqual([res.body.delivery_id]);
      const survivor = recordingWorker("patient", { pollMs: 100 });
      await survivor.start();
      const row = await waitFor(async () => {
        const r = await statusOf(res.body.delivery_id);
        return r.status === "processed" ? r : undefined;
      }, "takeover after the hold", 10_000);
      expect(row.attempts).toBe(1);
      expect(await processedBy(res.body.delivery_id)).toEqual(["patient"]);
      // PostgreSQL ended the silent session, and its transaction with it.
      const sessions = await app.db.knex.raw("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ?", [stuck.pid]);
      expect(sessions.rows[0].n).toBe(0);
      await stuck.trx.rollback().catch(() => undefined);
    });

    it("leaves a delivery leased by a worker of an earlier version until its lease ends", async () => {
      const leased = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      await app.db.knex("deliveries").where({ id: leased.body.delivery_id }).update({ locked_by: "old-version", locked_until: app.db.knex.raw("now() + interval '1 hour'"), attempts: 1 });
      const worker = recordingWorker("upgraded");
      await worker.start();
      const later = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      await waitFor(async () => (await statusOf(later.body.delivery_id)).status === "processed", "the later delivery processed");
      expect((await statusOf(leased.body.delivery_id)).status).toBe("received");
      await app.db.knex("deliveries").where({ id: leased.body.delivery_id }).update({ locked_until: app.db.knex.raw("now() - interval '1 second'") });
      worker.wake();
      const row = await waitFor(async () => {
        const r = await statusOf(leased.body.delivery_id);
        return r.status === "processed" ? r : undefined;
      }, "the lease ended");
      expect(row.attempts).toBe(2);
    });

    it("never lets two workers on one database process the same delivery", async () => {
      await app.db.knex("processed_by").delete();
      const payload = JSON.stringify(githubExample("issues", "opened"));
      const ids: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const results = await Promise.all(Array.from({ length: 30 }, () => sendDelivery(app.url, webhook, payload, { event: "issues" })));
        ids.push(...results.map((r) => r.body.delivery_id));
      }
      const one = recordingWorker("w1", { concurrency: 4, perTransaction: 3 });
      const two = recordingWorker("w2", { concurrency: 4, perTransaction: 3 });
      await Promise.all([one.start(), two.start()]);
      await waitFor(async () => {
        const { n } = (await app.db.knex("deliveries").where({ webhook_id: webhook.id, status: "received" }).count({ n: "*" }).first()) as { n: number };
        return n === 0;
      }, "drain", 30_000);
      const processed = await app.db.knex("processed_by").select("delivery_id", "worker");
      expect(processed).toHaveLength(ids.length);
      expect(new Set(processed.map((p) => p.delivery_id)).size).toBe(ids.length);
      const byWorker = new Set(processed.map((p) => p.worker));
      expect(byWorker).toEqual(new Set(["w1", "w2"]));
    });
  });

  describe("several deliveries in one transaction", () => {
    let app: TestApp;
    let acme: BootstrapResult;
    let webhook: RegisteredWebhook;
    let worker: DeliveryWorker | undefined;

    beforeAll(async () => {
      app = await startTestApp({ ENTOURAGE_WORKER: "off" });
      acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
      await app.db.knex.schema.createTable("side_effects", (t) => {
        t.uuid("delivery_id");
      });
    });
    afterAll(async () => {
      await worker?.stop();
      await app.close();
    });

    it("rolls back only the delivery whose rules throw; its neighbours commit, and it is retried alone", async () => {
      const sent: Awaited<ReturnType<typeof sendDelivery>>[] = [];
      for (let i = 0; i < 6; i++) {
        const payload = githubExample("issues", "opened");
        payload.issue.number = 9000 + i;
        sent.push(await sendDelivery(app.url, webhook, payload, { event: "issues" }));
      }
      const poisoned = sent[2]!.body.delivery_id as string;
      const calls = new Map<string, number>();
      worker = new DeliveryWorker({
        knex: app.db.knex,
        logger: silent,
        workerId: "batcher",
        pollMs: 50,
        concurrency: 1,
        perTransaction: 25,
        maxAttempts: 2,
        backoffSeconds: () => 0,
        processor: async (trx, { delivery, payload }) => {
          calls.set(delivery.id, (calls.get(delivery.id) ?? 0) + 1);
          await trx("side_effects").insert({ delivery_id: delivery.id });
          await appendEvents(trx, [{ org_id: delivery.org_id, type: "test.rule_event", data: { delivery_id: delivery.id } }]);
          // A database error aborts the statement: the savepoint must bring the transaction back.
          if (delivery.id === poisoned) await trx.raw("SELECT * FROM no_such_table");
          return { actions: [`issue ${(payload.issue as { number: number }).number}`] };
        },
      });
      await worker.start();
      const rows = await waitFor(async () => {
        const r = (await app.db.knex("deliveries").whereIn("id", sent.map((s) => s.body.delivery_id)).select("id", "status", "actions", "attempts", "error")) as {
          id: string;
          status: string;
          actions: string[];
          attempts: number;
          error: string | null;
        }[];
        return r.every((row) => row.status !== "received") ? r : undefined;
      }, "all settled", 15_000);
      for (const row of rows) {
        if (row.id === poisoned) {
          expect(row).toMatchObject({ status: "failed", attempts: 2 });
          expect(row.error).toMatch(/no_such_table/);
        } else {
          expect(row.status).toBe("processed");
          expect(row.actions).toHaveLength(1);
        }
      }
      // Every delivery was claimed in the first batch; the failing one ran once per attempt, the others once.
      expect(calls.get(poisoned)).toBe(2);
      expect([...calls.entries()].filter(([id]) => id !== poisoned).every(([, n]) => n === 1)).toBe(true);
      const effects = await app.db.knex("side_effects").select("delivery_id");
      expect(effects.map((e) => e.delivery_id).sort()).toEqual(sent.map((s) => s.body.delivery_id).filter((id) => id !== poisoned).sort());
      const processedEvents = await app.db.knex("events").where({ type: "delivery.processed" }).whereRaw("data->>'webhook_id' = ?", [webhook.id]);
      expect(processedEvents).toHaveLength(5);
      // The rules' events: one for each delivery that committed, in the order the deliveries ran, none of the rolled-back one's.
      const ruleEvents = await app.db.knex("events").where({ type: "test.rule_event" }).orderBy("id");
      expect(ruleEvents.map((event) => event.data.delivery_id)).toEqual(sent.map((s) => s.body.delivery_id).filter((id) => id !== poisoned));
    });

    it("tries each delivery of a transaction refused at COMMIT in a transaction of its own; the one refused alone counts its attempts and fails", async () => {
      await worker?.stop();
      await app.db.knex.raw("CREATE TABLE commit_parents (id int PRIMARY KEY)");
      await app.db.knex.raw("CREATE TABLE commit_children (delivery_id uuid, parent int REFERENCES commit_parents DEFERRABLE INITIALLY DEFERRED)");
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        sent.push((await sendDelivery(app.url, webhook, issuePayload("opened", { number: 9200 + i }), { event: "issues" })).body.delivery_id);
      }
      const refused = sent[1]!;
      const logLines: string[] = [];
      const logger = pino({ level: "warn" }, { write: (line: string) => logLines.push(line) });
      worker = new DeliveryWorker({
        knex: app.db.knex,
        logger,
        workerId: "committer",
        pollMs: 50,
        concurrency: 1,
        perTransaction: 25,
        maxAttempts: 2,
        backoffSeconds: () => 0,
        processor: async (trx, { delivery }) => {
          // Checked only at COMMIT, outside every savepoint: the whole transaction is refused.
          await trx("commit_children").insert({ delivery_id: delivery.id, parent: delivery.id === refused ? 404 : null });
          return { actions: ["committed"] };
        },
      });
      await worker.start();
      const rows = await waitFor(async () => {
        const r = (await app.db.knex("deliveries").whereIn("id", sent).select("id", "status", "attempts", "error")) as { id: string; status: string; attempts: number; error: string | null }[];
        return r.every((row) => row.status !== "received") ? new Map(r.map((row) => [row.id, row])) : undefined;
      }, "all settled");
      expect(rows.get(refused)).toMatchObject({ status: "failed", attempts: 2 });
      expect(rows.get(refused)!.error).toMatch(/foreign key/);
      for (const id of sent.filter((id) => id !== refused)) expect(rows.get(id)).toMatchObject({ status: "processed", attempts: 1, error: null });
      expect((await app.db.knex("commit_children").select("delivery_id")).map((row) => row.delivery_id).sort()).toEqual(sent.filter((id) => id !== refused).sort());
      const failedEvents = await app.db.knex("events").where({ type: "delivery.failed" }).whereRaw("data->>'delivery_id' = ?", [refused]);
      expect(failedEvents.map((event) => event.data.attempts)).toEqual([2]);
      expect(logLines.filter((line) => line.includes("could not be committed"))).toHaveLength(1);
    });

    it("fails alone a delivery whose stored payload cannot be unpacked; the rest of its group is processed", async () => {
      await worker?.stop();
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        sent.push((await sendDelivery(app.url, webhook, issuePayload("opened", { number: 9300 + i }), { event: "issues" })).body.delivery_id);
      }
      const damaged = sent[1]!;
      // Not an LZ4 block: what a damaged page or a hand edit could leave.
      await app.db.knex("deliveries").where({ id: damaged }).update({ payload_lz4: Buffer.from([0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]) });
      worker = new DeliveryWorker({
        knex: app.db.knex,
        logger: silent,
        workerId: "unpacker",
        pollMs: 50,
        concurrency: 1,
        perTransaction: 25,
        maxAttempts: 2,
        backoffSeconds: () => 0,
        processor: async () => ({ actions: ["read"] }),
      });
      await worker.start();
      const rows = await waitFor(async () => {
        const r = (await app.db.knex("deliveries").whereIn("id", sent).select("id", "status", "attempts", "error")) as { id: string; status: string; attempts: number; error: string | null }[];
        return r.every((row) => row.status !== "received") ? new Map(r.map((row) => [row.id, row])) : undefined;
      }, "all settled", 15_000);
      expect(rows.get(damaged)).toMatchObject({ status: "failed", attempts: 2 });
      for (const id of sent.filter((id) => id !== damaged)) expect(rows.get(id)).toMatchObject({ status: "processed", attempts: 1, error: null });
    });

    it("drops the events of a set-wise step that throws with the rest of its work; each delivery then goes alone", async () => {
      await worker?.stop();
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) {
        const payload = githubExample("issues", "opened");
        payload.issue.number = 9100 + i;
        sent.push((await sendDelivery(app.url, webhook, payload, { event: "issues" })).body.delivery_id);
      }
      const processor: DeliveryProcessor = async (trx, { delivery }) => {
        await appendEvents(trx, [{ org_id: delivery.org_id, type: "test.one_by_one", data: { delivery_id: delivery.id } }]);
        return { actions: ["alone"] };
      };
      processor.batch = async (trx, inputs) => {
        await appendEvents(trx, inputs.map(({ delivery }) => ({ org_id: delivery.org_id, type: "test.set_wise", data: { delivery_id: delivery.id } })));
        throw new Error("the set-wise step failed");
      };
      worker = new DeliveryWorker({ knex: app.db.knex, logger: silent, workerId: "batcher-2", pollMs: 50, concurrency: 1, perTransaction: 25, maxAttempts: 2, backoffSeconds: () => 0, processor });
      await worker.start();
      await waitFor(async () => {
        const rows = await app.db.knex("deliveries").whereIn("id", sent).select("status");
        return rows.every((row) => row.status === "processed");
      }, "all processed", 15_000);
      expect(await app.db.knex("events").where({ type: "test.set_wise" })).toEqual([]);
      const alone = await app.db.knex("events").where({ type: "test.one_by_one" }).orderBy("id");
      expect(alone.map((event) => event.data.delivery_id)).toEqual(sent);
    });
  });

  describe("a database that goes away during a backlog", () => {
    let app: TestApp;
    let webhook: RegisteredWebhook;
    let worker: DeliveryWorker | undefined;

    beforeAll(async () => {
      app = await startTestApp({ ENTOURAGE_WORKER: "off" });
      const acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
    });
    afterAll(async () => {
      await worker?.stop();
      await app.close();
    });

    it("tries again at its poll, not at once, while no transaction can begin; then drains the rest", async () => {
      const ids: string[] = [];
      for (let number = 1; number <= 3; number++) {
        ids.push((await sendDelivery(app.url, webhook, issuePayload("opened", { number }), { event: "issues" })).body.delivery_id);
      }
      // The worker's database client: transactions refused while `down` (a database that is away).
      let down = false;
      const refused: number[] = [];
      const knex = {
        transaction: (work: (trx: Knex.Transaction) => Promise<unknown>) => {
          if (!down) return app.db.knex.transaction(work);
          refused.push(performance.now());
          // Refused after a turn of the event loop, as a connection attempt is.
          return new Promise((_resolve, reject) => setImmediate(() => reject(new Error("connect ECONNREFUSED"))));
        },
      } as unknown as Knex;
      const pollMs = 100;
      worker = new DeliveryWorker({
        knex,
        logger: silent,
        pollMs,
        concurrency: 1,
        perTransaction: 1, // each claim comes back full: a backlog
        processor: async () => {
          if (refused.length === 0) down = true; // the database goes away after the first transaction
          return { actions: [] };
        },
      });
      await worker.start();
      await waitFor(() => refused.length >= 3, "three refused transactions");
      // A backlog claim that could not run must not be taken for a backlog still waiting: at once again, it spins.
      expect(refused[2]! - refused[0]!).toBeGreaterThanOrEqual(pollMs * 1.5);
      down = false;
      worker.wake();
      await waitFor(async () => (await app.db.knex("deliveries").whereIn("id", ids).where({ status: "processed" })).length === 3, "the rest processed");
    });
  });

  describe("scheduling without a backlog", () => {
    let app: TestApp;
    let webhook: RegisteredWebhook;
    let worker: DeliveryWorker | undefined;
    let release = () => {};
    const transactions = new Map<number, string>();
    let entered: number[] = [];

    beforeAll(async () => {
      app = await startTestApp({ ENTOURAGE_WORKER: "off" });
      const acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
    });
    afterEach(async () => {
      release();
      await worker?.stop();
      worker = undefined;
      transactions.clear();
      entered = [];
    });
    afterAll(() => app.close());

    /** A worker woken by NOTIFY (its poll never comes) whose rules hold issue 1 until `release()`. */
    const startWorker = async (stalledMs: number, options: { gatherMs?: number; perTransaction?: number } = {}) => {
      const held = new Promise<void>((resolve) => (release = resolve));
      worker = new DeliveryWorker({
        knex: app.db.knex,
        logger: silent,
        databaseUrl: app.ctx.databaseUrl,
        pollMs: 600_000,
        stalledMs,
        ...options,
        maxAttempts: 1,
        backoffSeconds: () => 0,
        processor: holdingIssueOne(entered, transactions, held),
      });
      await worker.start();
    };
    const send = (number: number) => {
      const payload = githubExample("issues", "opened");
      payload.issue.number = number;
      return sendDelivery(app.url, webhook, payload, { event: "issues" });
    };

    it("takes what arrived while a transaction ran together, in the next transaction", async () => {
      await startWorker(600_000);
      await send(1);
      await waitFor(() => entered.includes(1), "issue 1's rules to start");
      for (const number of [2, 3, 4]) expect((await send(number)).status).toBe(202);
      release();
      await waitFor(() => transactions.size === 4, "all four processed");
      expect(new Set([2, 3, 4].map((number) => transactions.get(number))).size).toBe(1);
      expect(transactions.get(2)).not.toBe(transactions.get(1));
    });

    it("after a group of two or more, starts the next no sooner than gatherMs after it: what arrives meanwhile goes together", async () => {
      await startWorker(600_000, { gatherMs: 2_000 });
      await expectGroupThenGathered({ send, entered, transactions, release });
    });

    it("after a group of one, starts the next at once, however long gatherMs is", async () => {
      await startWorker(600_000, { gatherMs: 600_000 });
      release();
      await send(1);
      await waitFor(() => transactions.has(1), "issue 1 processed");
      await send(2);
      await waitFor(() => transactions.has(2), "issue 2 processed without waiting for the window");
    });

    it("starts the first transaction at once, however long gatherMs is: the empty claim at start-up does not open a window", async () => {
      await startWorker(600_000, { gatherMs: 600_000 });
      release();
      await send(1);
      await waitFor(() => transactions.has(1), "issue 1 processed without waiting for the window");
    });

    it("does not hold a backlog back: a full claim starts the next transactions at once, however long gatherMs is", async () => {
      for (const number of [11, 12, 13, 14, 15]) expect((await send(number)).status).toBe(202);
      await startWorker(600_000, { gatherMs: 600_000, perTransaction: 2 });
      release();
      await waitFor(() => transactions.size === 5, "the five processed without waiting for the window");
      expect(new Set(transactions.values()).size).toBe(3);
    });

    it("does not let a transaction that runs long hold the queue back", async () => {
      await startWorker(200);
      await send(1);
      await waitFor(() => entered.includes(1), "issue 1's rules to start");
      await send(2);
      // Issue 1 is still held: issue 2 can only be done in a transaction of its own, started beside it.
      await waitFor(() => transactions.has(2), "issue 2 processed while issue 1 is held");
      expect(transactions.has(1)).toBe(false);
    });
  });

  describe("paced by DELIVERY_WORKER_GATHER_MS", () => {
    let app: TestApp;
    let webhook: RegisteredWebhook;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const entered: number[] = [];
    const transactions = new Map<number, string>();

    beforeAll(async () => {
      app = await startTestApp(
        { DELIVERY_WORKER_GATHER_MS: "1000" },
        // Issue 1 is held until release(), so that 2 and 3 arrive meanwhile and go as a group.
        { processor: holdingIssueOne(entered, transactions, held) },
      );
      const acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened"] });
    });
    afterAll(async () => {
      release(); // a failed test must not leave a transaction waiting
      await app.close();
    });

    it("takes what arrives within the window after a group together", async () => {
      const send = (number: number) => sendDelivery(app.url, webhook, issuePayload("opened", { number }), { event: "issues" });
      await expectGroupThenGathered({ send, entered, transactions, release });
    });
  });

  describe("sized by DELIVERY_WORKER_CONCURRENCY and DELIVERY_WORKER_GROUP_SIZE", () => {
    let app: TestApp;
    let webhook: RegisteredWebhook;
    let open: () => void = () => {};
    const barrier = new Promise<void>((resolve) => (open = resolve));
    /** Delivery ids by the transaction that processed them. */
    const byTransaction = new Map<string, string[]>();

    beforeAll(async () => {
      app = await startTestApp(
        { DELIVERY_WORKER_CONCURRENCY: "3", DELIVERY_WORKER_GROUP_SIZE: "2" },
        {
          // Every delivery waits until three transactions are in flight at once.
          processor: async (trx, { delivery }) => {
            const tx = String((await trx.raw("SELECT txid_current() AS id")).rows[0].id);
            byTransaction.set(tx, [...(byTransaction.get(tx) ?? []), delivery.id]);
            if (byTransaction.size >= 3) open();
            await barrier;
            return { actions: [] };
          },
        },
      );
      const acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened"] });
    });
    afterAll(async () => {
      open(); // a failed test must not leave transactions waiting
      await app.close();
    });

    it("drains a backlog in three transactions at once, of two deliveries each", async () => {
      const worker = app.entourage.pipeline.worker!;
      await worker.stop();
      for (let number = 1; number <= 6; number++) {
        expect((await sendDelivery(app.url, webhook, issuePayload("opened", { number }), { event: "issues" })).status).toBe(202);
      }
      await worker.start();
      await waitFor(async () => (await app.db.knex("deliveries").where({ status: "processed" })).length === 6, "the backlog processed");
      expect([...byTransaction.values()].map((ids) => ids.length)).toEqual([2, 2, 2]);
    });
  });

  describe("delivery log API", () => {
    let app: TestApp;
    let acme: BootstrapResult;
    let webhook: RegisteredWebhook;

    beforeAll(async () => {
      app = await startTestApp();
      acme = await app.bootstrap();
      webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened"] });
    });
    afterAll(() => app.close());

    it("lists deliveries newest first with filters and a Link header, and shows one with its payload", async () => {
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await sendDelivery(app.url, webhook, githubExample("issues", "opened", i % 4), { event: "issues" }));
      const ignored = await sendDelivery(app.url, webhook, githubExample("issues", "edited"), { event: "issues" });

      const seen: string[] = [];
      let next: string | undefined = `/api/v1/webhooks/${webhook.id}/deliveries?limit=2`;
      while (next) {
        const page = await app.request("GET", next, { key: acme.api_key });
        expect(page.status).toBe(200);
        seen.push(...page.body.map((d: { id: string }) => d.id));
        const link = page.headers.get("link");
        next = link ? /<([^>]+)>; rel="next"/.exec(link)![1] : undefined;
      }
      expect(seen).toEqual([ignored, ...sent.slice().reverse()].map((r) => r.body.delivery_id));

      const list = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?status=ignored`, { key: acme.api_key });
      expect(list.body).toHaveLength(1);
      expect(Object.keys(list.body[0]).sort()).toEqual(
        ["id", "event_type", "status", "payload_summary", "actions", "error", "attempts", "delivery_guid", "created_at", "processed_at"].sort(),
      );
      expect(list.body[0]).toMatchObject({ event_type: "issues.edited", status: "ignored", payload_summary: { action: "edited" } });

      const byType = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?event_type=issues.opened`, { key: acme.api_key });
      expect(byType.body).toHaveLength(5);

      const one = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries/${sent[0]!.body.delivery_id}`, { key: acme.api_key });
      expect(one.body.payload).toEqual(githubExample("issues", "opened", 0));
      expect(one.body.headers["x-github-delivery"]).toBe(sent[0]!.guid);

      const badFilter = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?status=lost`, { key: acme.api_key });
      expect(badFilter.status).toBe(400);
      const missing = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries/00000000-0000-4000-8000-000000000000`, { key: acme.api_key });
      expect(missing.status).toBe(404);
    });

    it("finds by GUID the delivery GitHub sent with that X-GitHub-Delivery, and only it", async () => {
      const own = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"] });
      const first = await deliverAndWait(app, own, issuePayload("opened", { number: 1 }), { event: "issues", guid: "72d3162e-cc78-11e3-81ab-4c9367dc0958" });
      await deliverAndWait(app, own, issuePayload("opened", { number: 2 }), { event: "issues" });
      const found = await app.request("GET", `/api/v1/webhooks/${own.id}/deliveries?delivery_guid=72d3162e-cc78-11e3-81ab-4c9367dc0958`, { key: acme.api_key });
      expect(found.status).toBe(200);
      expect(found.body.map((delivery: { id: string }) => delivery.id)).toEqual([first.id]);
      const none = await app.request("GET", `/api/v1/webhooks/${own.id}/deliveries?delivery_guid=no-such-guid`, { key: acme.api_key });
      expect(none.body).toEqual([]);
      const all = await app.request("GET", `/api/v1/webhooks/${own.id}/deliveries`, { key: acme.api_key });
      expect(all.body).toHaveLength(2);
    });

    it("refuses an empty or overlong GUID filter with a 400", async () => {
      for (const guid of ["", "x".repeat(201)]) {
        const res = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?delivery_guid=${guid}`, { key: acme.api_key });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0].field).toBe("delivery_guid");
      }
    });
  });
});
