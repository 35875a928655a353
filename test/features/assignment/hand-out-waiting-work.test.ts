import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handOutReviewsThenTasks } from "../../../src/features/assignment/hand-out-waiting-work.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

/**
 * The hand-out runs inside the transaction that freed an agent, which may be a worker's batch of
 * fifty deliveries. What it locks stays locked until that batch commits, and another transaction
 * that needs the same review or task (its pull request merged, its issue closed) waits for it.
 */
describe("handing out waiting work locks only what it hands out", () => {
  let app: TestApp;
  let nextNumber = 1;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const deliver = async (webhook: RegisteredWebhook, event: string, payload: unknown) => {
    const res = await sendDelivery(app.url, webhook, payload, { event });
    expect(res.status).toBe(202);
    const row = await waitFor(async () => {
      const delivery = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
      return delivery.status !== "received" && delivery;
    }, "processing");
    expect(row.status).toBe("processed");
  };

  /**
   * A team of one engineer, busy with the first of three issues; the other two tasks wait for it, and
   * three pull requests fixing the first issue wait for a reviewer (the engineer wrote that work).
   */
  const busyTeam = async () => {
    const org = await app.bootstrap({ engineers: 1, name: `org-${Math.random()}` });
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    const issues = [nextNumber++, nextNumber++, nextNumber++];
    for (const number of issues) await deliver(webhook, "issues", issuePayload("opened", { number }));
    for (let i = 0; i < 3; i++) {
      const number = nextNumber++;
      await deliver(webhook, "pull_request", pullRequestPayload("opened", { number, body: `Fixes #${issues[0]}`, head_sha: `${number}`.padStart(40, "0") }));
    }
    const reviews = (await app.db.knex("reviews").where({ org_id: org.org_id }).orderBy("id")) as { id: number; assignee_id: string | null }[];
    const waitingTasks = (await app.db.knex("tasks").where({ org_id: org.org_id }).whereNot({ task_type: "review" }).whereNull("assignee_id").orderBy("id")) as { id: number }[];
    expect(reviews.map((review) => review.assignee_id)).toEqual([null, null, null]);
    expect(waitingTasks).toHaveLength(2);
    return { org, reviews, waitingTasks };
  };

  /** The ids of `table`'s rows another transaction can lock right now (NOWAIT: a held lock is an error). */
  const lockable = async (table: string, ids: number[]) => {
    const free: number[] = [];
    for (const id of ids) {
      try {
        await app.db.knex.transaction(async (other) => {
          await other.raw(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE NOWAIT`, [id]);
        });
        free.push(id);
      } catch (error) {
        if ((error as { code?: string }).code !== "55P03") throw error;
      }
    }
    return free;
  };

  /** Runs `work` in a transaction held open while `check` looks at the database from outside it; then rolls back. */
  const holding = async (work: (trx: Knex.Transaction) => Promise<void>, check: () => Promise<void>) => {
    const trx = await app.db.knex.transaction();
    try {
      await work(trx);
      await check();
    } finally {
      await trx.rollback();
    }
  };

  it("with every agent busy, it locks no waiting review and no waiting task", async () => {
    const { org, reviews, waitingTasks } = await busyTeam();
    await holding(
      (trx) => handOutReviewsThenTasks(trx, org.team_id),
      async () => {
        expect(await lockable("reviews", reviews.map((review) => review.id))).toEqual(reviews.map((review) => review.id));
        expect(await lockable("tasks", waitingTasks.map((task) => task.id))).toEqual(waitingTasks.map((task) => task.id));
      },
    );
  });

  it("a freed engineer takes the oldest waiting review; the reviews and tasks after it stay unlocked", async () => {
    const { org, reviews, waitingTasks } = await busyTeam();
    const second = await app.request("POST", `/api/v1/teams/${org.team_id}/agents`, { key: org.api_key, body: { name: "eng-2", role: "engineer", status: "busy" } });
    expect(second.status).toBe(201);
    await holding(
      async (trx) => {
        await trx("agents").where({ id: second.body.id }).update({ status: "available" });
        await handOutReviewsThenTasks(trx, org.team_id);
        expect((await trx("reviews").where({ id: reviews[0]!.id }).first()).assignee_id).toBe(second.body.id);
      },
      async () => {
        expect(await lockable("reviews", [reviews[1]!.id, reviews[2]!.id])).toEqual([reviews[1]!.id, reviews[2]!.id]);
        expect(await lockable("tasks", waitingTasks.map((task) => task.id))).toEqual(waitingTasks.map((task) => task.id));
      },
    );
  });

  it("still hands out past reviews its only free agent may not take (its own work)", async () => {
    const { org, reviews, waitingTasks } = await busyTeam();
    const author = org.agents[0]!.id;
    await holding(
      async (trx) => {
        // The engineer frees up; the newest review is of a waiting task, which nobody wrote.
        await trx("agents").where({ id: author }).update({ status: "available" });
        await trx("reviews").where({ id: reviews[2]!.id }).update({ linked_task_ids: [waitingTasks[0]!.id] });
        await handOutReviewsThenTasks(trx, org.team_id);
        const assignees = (await trx("reviews").whereIn("id", reviews.map((review) => review.id)).orderBy("id")).map((review) => review.assignee_id);
        expect(assignees).toEqual([null, null, author]);
      },
      async () => {},
    );
  });
});
