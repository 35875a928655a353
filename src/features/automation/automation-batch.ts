import type { Knex } from "knex";
import { lockKeys } from "../../db/lock-key.js";
import { groupBy } from "../../lib/group-by.js";
import { lockTasksBySourceKeys } from "../tasks/tasks.store.js";
import type { DeliveryBatchProcessor, DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { followCustomEvents, pickCustomEvents, type CustomEvent, type CustomFollow } from "./custom-in-batch.js";
import { alreadyCreated, noTaskFor } from "./custom-rules.js";
import { followIssues, issueToOpen, pickIssueEvents, recordFirstRepositories, type ExistingTask, type IssueEvent } from "./issues-in-batch.js";
import { openTasks, type TaskToOpen } from "./open-tasks.js";
import type { PullRequestHook } from "./pull-request-rules.js";
import { applyPullRequests, pickPullRequestEvents } from "./pull-requests-in-batch.js";

/**
 * The automation rules for many deliveries at once: what the per-delivery rules do, in a few statements.
 * 1. Take the `issues.*` events the batch can apply (pickIssueEvents) and custom senders'
 *    deliveries (pickCustomEvents); the rest go one by one, in order, after this step.
 * 2. Lock their issues and external ids (one statement) and their tasks (one per org).
 * 3. Opened issues without a task and creates of an external id without one: create the tasks in
 *    the order their deliveries came (one INSERT, one events append); auto_assign hands them to free
 *    engineers in that order until a team has none free; the rest wait. A create of an external id
 *    that has its task changes nothing.
 * 4. closed, reopened, edited, labeled, unlabeled of an issue with a task: the task follows (followIssues);
 *    a custom update or close of an external id with a task: the task follows (followCustomEvents), and
 *    of one without a task changes nothing.
 * 5. pull request events (pickPullRequestEvents, applyPullRequests): their linked tasks move, then
 *    the hooks (reviews) run for all of them at once.
 * Any other case (opened of an issue that has a task, an event about an issue without one) goes one by one.
 */
export function createAutomationBatch(pullRequestHooks: PullRequestHook[] = []): DeliveryBatchProcessor {
  return async (trx, inputs) => {
    const outcomes = new Map<DeliveryInput, DeliveryOutcome>();
    const views = await recordFirstRepositories(trx, inputs);
    const issues = pickIssueEvents(views);
    const custom = pickCustomEvents(inputs);
    const pulls = pickPullRequestEvents(views);
    if (issues.length + custom.length + pulls.length === 0) return outcomes;
    // Every lock of the batch in one statement, in one order: two batches cannot deadlock on them.
    await lockKeys(trx, [...issues, ...custom, ...pulls].map((picked) => picked.key));
    await applyIssuesAndCustom(trx, inputs, issues, custom, outcomes);
    await applyPullRequests(trx, inputs, pulls, outcomes, pullRequestHooks);
    return outcomes;
  };
}

/** Steps 2–4 for the picked issue and custom events. */
async function applyIssuesAndCustom(
  trx: Knex.Transaction,
  inputs: DeliveryInput[],
  issues: IssueEvent[],
  custom: CustomEvent[],
  outcomes: Map<DeliveryInput, DeliveryOutcome>,
): Promise<void> {
  if (issues.length + custom.length === 0) return;
  const tasks = await lockTasksOfKeys(trx, [...issues, ...custom]);

  const opens: TaskToOpen[] = issues.filter((event) => event.payload.action === "opened" && !tasks.has(event)).map(issueToOpen);
  const customFollows: CustomFollow[] = [];
  for (const event of custom) {
    const task = tasks.get(event);
    if (event.type === "task.create") {
      if (task) outcomes.set(event.input, alreadyCreated(task, event.externalId));
      else opens.push(event.open);
    } else if (task) {
      customFollows.push({ event, task });
    } else {
      outcomes.set(event.input, noTaskFor(event.externalId));
    }
  }
  const order = new Map(inputs.map((input, i) => [input, i]));
  await openTasks(
    trx,
    opens.sort((a, b) => order.get(a.input)! - order.get(b.input)!),
    outcomes,
  );
  await followIssues(
    trx,
    issues.filter((event) => event.payload.action !== "opened" && tasks.has(event)).map((event) => ({ event, task: tasks.get(event)! })),
    outcomes,
  );
  await followCustomEvents(trx, customFollows, outcomes);
}

/** Locks the tasks of the picked deliveries' source keys, one statement per org; each picked delivery with a task maps to it. */
async function lockTasksOfKeys<T extends { input: DeliveryInput; key: string }>(trx: Knex.Transaction, picked: T[]): Promise<Map<T, ExistingTask>> {
  const tasks = new Map<T, ExistingTask>();
  for (const [orgId, ofOrg] of groupBy(picked, (item) => item.input.webhook.org_id)) {
    const existing = await lockTasksBySourceKeys(
      trx,
      orgId,
      ofOrg.map((item) => item.key),
    );
    for (const item of ofOrg) {
      const task = existing.get(item.key);
      if (task) tasks.set(item, task);
    }
  }
  return tasks;
}
