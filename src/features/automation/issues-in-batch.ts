import type { Knex } from "knex";
import { lockKeys } from "../../db/lock-key.js";
import { assignToAvailableEngineer } from "../tasks/task-assignment.js";
import { changeTaskStatuses, createTasks, type StatusChange } from "../tasks/tasks.service.js";
import { appendEvents } from "../events/events.store.js";
import { taskEvent } from "../tasks/task-event.js";
import { lockTasksBySourceKeys, updateTaskFields, type Task, type TaskFieldChanges } from "../tasks/tasks.store.js";
import type { DeliveryBatchProcessor, DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { knownEntitlement } from "../webhooks/repository-entitlement.js";
import { claimFirstRepository } from "../webhooks/webhooks.store.js";
import { webhookConfig, type WebhookConfig } from "../webhooks/webhooks.schema.js";
import { issueSourceKey } from "./github-issue-source.js";
import { issuePayload, type IssuePayload } from "./github-payloads.js";
import {
  alreadyUpToDate,
  followedFields,
  followedState,
  followedStateAction,
  isOlderThanApplied,
  NO_ENGINEER_FREE,
  olderThanApplied,
  type FieldChange,
} from "./issue-rules.js";
import { issueTaskInput } from "./issue-task-input.js";

/** One picked delivery: an issues event the batch can apply, about an issue no other delivery of the batch touches. */
interface IssueEvent {
  input: DeliveryInput;
  payload: IssuePayload;
  config: WebhookConfig;
  key: string;
}

type ExistingTask = Task & { source_updated_at: Date | null };

/** The actions taken set-wise: opened (a new task); closed, reopened, edited, labeled, unlabeled (the task follows). */
const BATCH_ACTIONS = new Set(["opened", "closed", "reopened", "edited", "labeled", "unlabeled"]);

/**
 * `issues.*` events, many at once: what applyIssueEvent does for each, in a few statements.
 * 1. Take the deliveries about an issue no other delivery of the batch touches, that their webhook
 *    may act on, whose payload is complete, and that come before any pull request event of their
 *    repository in the batch; the rest go one by one, in order.
 * 2. Lock their issues (one statement) and their tasks (one per org).
 * 3. opened of an issue without a task: create the tasks (one INSERT, one events append);
 *    auto_assign hands them to free engineers in order until a team has none free; the rest wait.
 * 4. closed or reopened of an issue with a task: the tasks follow the issues' state (one UPDATE,
 *    one events append, then what each finished task sets off); edited, labeled or unlabeled: their
 *    fields follow (one UPDATE, which also records the issue's updated_at of the tasks that do not
 *    move, and one events append). Nothing changes a task that reflects a later state of its issue.
 * Any other case (opened of an issue that has a task, an event about an issue without one) goes one by one.
 */
export const issuesInBatch: DeliveryBatchProcessor = async (trx, inputs) => {
  const outcomes = new Map<DeliveryInput, DeliveryOutcome>();
  const events = pickIssueEvents(await recordFirstRepositories(trx, inputs));
  if (events.length === 0) return outcomes;
  await lockKeys(
    trx,
    events.map((event) => event.key),
  );
  const tasks = new Map<IssueEvent, ExistingTask>();
  for (const orgId of new Set(events.map((event) => event.input.webhook.org_id))) {
    const ofOrg = events.filter((event) => event.input.webhook.org_id === orgId);
    const existing = await lockTasksBySourceKeys(
      trx,
      orgId,
      ofOrg.map((event) => event.key),
    );
    for (const event of ofOrg) {
      const task = existing.get(event.key);
      if (task) tasks.set(event, task);
    }
  }
  await openIssues(
    trx,
    events.filter((event) => event.payload.action === "opened" && !tasks.has(event)),
    outcomes,
  );
  await followIssues(
    trx,
    events.filter((event) => event.payload.action !== "opened" && tasks.has(event)).map((event) => ({ event, task: tasks.get(event)! })),
    outcomes,
  );
  return outcomes;
};

async function openIssues(trx: Knex.Transaction, issues: IssueEvent[], outcomes: Map<DeliveryInput, DeliveryOutcome>): Promise<void> {
  if (issues.length === 0) return;
  const tasks = await createTasks(
    trx,
    issues.map(({ input, payload, config, key }) => ({
      ...issueTaskInput(input, config, payload, key, new Date(payload.issue.updated_at)),
      org_id: input.webhook.org_id,
    })),
  );
  const noneFree = new Set<string>();
  for (const [i, task] of tasks.entries()) {
    const { input, config } = issues[i]!;
    const actions = [`created task #${task.id}`];
    if (config.auto_assign) {
      // Nothing frees an engineer inside this transaction: once a team has none, the rest wait too.
      const agent = noneFree.has(task.team_id) ? undefined : (await assignToAvailableEngineer(trx, task)).agent;
      if (!agent) noneFree.add(task.team_id);
      actions.push(agent ? `assigned to ${agent.name}` : NO_ENGINEER_FREE);
    }
    outcomes.set(input, { actions });
  }
}

async function followIssues(
  trx: Knex.Transaction,
  follows: { event: IssueEvent; task: ExistingTask }[],
  outcomes: Map<DeliveryInput, DeliveryOutcome>,
): Promise<void> {
  const moves: StatusChange[] = [];
  const edits: { org_id: string; id: number; fields: TaskFieldChanges; source_updated_at: Date }[] = [];
  const updated = new Map<number, FieldChange>();
  for (const { event, task } of follows) {
    const { payload } = event;
    if (isOlderThanApplied(task, payload.issue)) {
      outcomes.set(event.input, olderThanApplied(task, payload.issue));
      continue;
    }
    // A task that moves records the issue's updated_at with its status; any other, with its fields.
    const followsState = payload.action === "closed" || payload.action === "reopened";
    const move = followsState ? followedState(task, payload.issue) : undefined;
    const edit = followsState ? undefined : followedFields(task, payload, event.config);
    if (move) moves.push(move);
    else edits.push({ org_id: task.org_id, id: task.id, fields: edit?.fields ?? {}, source_updated_at: new Date(payload.issue.updated_at) });
    if (edit) updated.set(task.id, edit);
    outcomes.set(event.input, { actions: [move ? followedStateAction(move) : edit ? edit.action : alreadyUpToDate(task)] });
  }
  await changeTaskStatuses(trx, moves);
  const edited = (await updateTaskFields(trx, edits)).filter((task) => updated.has(task.id)).sort((a, b) => a.id - b.id);
  await appendEvents(
    trx,
    edited.map((task) => taskEvent(task, "task.updated", updated.get(task.id)!.event)),
  );
}

/**
 * A webhook that has not recorded its first repository yet records it once for the batch (as the
 * first of its deliveries would, one by one), so that its deliveries' entitlement is known.
 * Returns views of the inputs carrying it; `IssueEvent.input` stays the caller's object.
 */
async function recordFirstRepositories(trx: Knex.Transaction, inputs: DeliveryInput[]): Promise<{ view: DeliveryInput; input: DeliveryInput }[]> {
  const recorded = new Map<string, string | undefined>();
  for (const input of inputs) {
    const { webhook, payload } = input;
    if (recorded.has(webhook.id) || webhook.first_repository != null || knownEntitlement(input)) continue;
    recorded.set(webhook.id, await claimFirstRepository(trx, webhook.id, (payload.repository as { full_name: string }).full_name));
  }
  return inputs.map((input) => {
    const first = recorded.get(input.webhook.id);
    return { input, view: first === undefined ? input : { ...input, webhook: { ...input.webhook, first_repository: first } } };
  });
}

function pickIssueEvents(inputs: { view: DeliveryInput; input: DeliveryInput }[]): IssueEvent[] {
  const picked: IssueEvent[] = [];
  const touched = new Map<string, number>();
  for (const { input } of inputs) {
    const key = looseIssueKey(input);
    if (key) touched.set(key, (touched.get(key) ?? 0) + 1);
  }
  // Repositories with a pull request event so far: it goes one by one, after the set-wise step, and
  // may move the tasks of that repository's issues (a merge finishes them), so their later events wait for it.
  const pulledBefore = new Set<string>();
  for (const { input, view } of inputs) {
    const repository = looseRepository(input);
    if (input.delivery.event_type.startsWith("pull_request.") && repository !== undefined) pulledBefore.add(repository.toLowerCase());
    const action = input.delivery.event_type.startsWith("issues.") ? input.delivery.event_type.slice("issues.".length) : undefined;
    if (input.webhook.provider !== "github" || !action || !BATCH_ACTIONS.has(action)) continue;
    if (repository === undefined || pulledBefore.has(repository.toLowerCase())) continue;
    const entitlement = knownEntitlement(view);
    if (!entitlement || entitlement.refused) continue;
    const parsed = issuePayload.safeParse(input.payload);
    const config = webhookConfig.safeParse(input.webhook.config);
    if (!parsed.success || !config.success) continue;
    const payload = parsed.data;
    if (payload.action !== action || payload.issue.pull_request) continue;
    // An issue opened already closed is created and closed one by one.
    if (action === "opened" && payload.issue.state !== "open") continue;
    const key = issueSourceKey(payload.repository.full_name, payload.issue.number);
    if (touched.get(key) !== 1) continue;
    // A webhook's own secret is no credential for an installation: its payload's `installation` is dropped.
    if (input.delivery.via !== "app") delete payload.installation;
    picked.push({ input, payload, config: config.data, key });
  }
  return picked;
}

/** The issue a delivery is about, read loosely (any issues.* event), or undefined. */
function looseIssueKey(input: DeliveryInput): string | undefined {
  if (!input.delivery.event_type.startsWith("issues.")) return undefined;
  const repository = looseRepository(input);
  const number = (input.payload.issue as { number?: unknown } | undefined)?.number;
  if (repository === undefined || typeof number !== "number") return undefined;
  return issueSourceKey(repository, number);
}

/** The repository's full name a delivery's payload gives, read loosely (before any schema), or undefined. */
function looseRepository(input: DeliveryInput): string | undefined {
  const name = (input.payload.repository as { full_name?: unknown } | undefined)?.full_name;
  return typeof name === "string" ? name : undefined;
}
