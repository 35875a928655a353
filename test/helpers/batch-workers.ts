import { Writable } from "node:stream";
import pino from "pino";
import { createAutomationProcessor } from "../../src/features/automation/automation-processor.js";
import { reviewPullRequestHook } from "../../src/features/reviews/review-pull-request-hook.js";
import { DeliveryWorker } from "../../src/features/webhooks/delivery-worker.js";
import type { TestApp } from "./test-app.js";
import { waitFor } from "./wait-for.js";

export interface SettledDelivery {
  id: string;
  status: string;
  actions: string[];
  attempts: number;
  error: string | null;
}

/**
 * In-process workers for tests of the set-wise rules: the deliveries are stored first (the app runs
 * with ENTOURAGE_WORKER=off), then a worker started here claims them in one batch. Their warnings
 * are kept in `logLines`, the statements sent in `statements`; `stopAll` stops every worker started
 * (call it after each test).
 */
export function batchWorkers(app: TestApp) {
  const workers: DeliveryWorker[] = [];
  const logLines: string[] = [];
  const statements: string[] = [];
  app.db.knex.on("query", (query: { sql: string; bindings?: unknown[] }) => statements.push(`${query.sql} ${JSON.stringify(query.bindings ?? [])}`));
  const logger = pino(
    { level: "warn" },
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );
  return {
    logLines,
    /** Every statement the app's database client sent, each followed by its bindings (tests empty it before they look). */
    statements,
    /** Starts a worker whose one transaction at a time claims up to `perTransaction` deliveries. */
    async start(name: string, perTransaction = 25): Promise<void> {
      const worker = new DeliveryWorker({
        knex: app.db.knex,
        logger,
        // The rules main.ts runs: the automation's, with the Reviews hook on pull requests.
        processor: createAutomationProcessor({ pullRequestHooks: [reviewPullRequestHook] }),
        workerId: name,
        concurrency: 1,
        perTransaction,
        pollMs: 50,
        maxAttempts: 2,
        backoffSeconds: () => 0,
      });
      workers.push(worker);
      await worker.start();
    },
    async stopAll(): Promise<void> {
      await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    },
    /** Waits until none of the deliveries is `received`; returns their rows by id. */
    settled(ids: string[]): Promise<Map<string, SettledDelivery>> {
      return waitFor(
        async () => {
          const rows = (await app.db.knex("deliveries").whereIn("id", ids).select("id", "status", "actions", "attempts", "error")) as SettledDelivery[];
          if (rows.some((row) => row.status === "received")) return undefined;
          return new Map(rows.map((row) => [row.id, row]));
        },
        "deliveries settled",
        15_000,
      );
    },
  };
}
