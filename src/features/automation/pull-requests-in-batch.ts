import type { Knex } from "knex";
import { groupBy } from "../../lib/group-by.js";
import { changeTaskStatuses, type StatusChange } from "../tasks/tasks.service.js";
import { lockTasksByKeysOrIds, type Task } from "../tasks/tasks.store.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { knownEntitlement } from "../webhooks/repository-entitlement.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { pullRequestPayload } from "./github-payloads.js";
import { looseRepository } from "./issues-in-batch.js";
import {
  draftAction,
  inRepository,
  linkedTaskMove,
  linkedTaskRefs,
  MOVES,
  movedAction,
  pullRequestAction,
  pullRequestKey,
  unchangedAction,
  type PullRequestEvent,
  type PullRequestHook,
} from "./pull-request-rules.js";

/** A pull request event the batch may apply: parsed, with its lock key and what it links. */
export interface PullRequestCandidate extends Omit<PullRequestEvent, "linked"> {
  key: string;
  refs: { sourceKeys: string[]; taskIds: number[] };
}

/**
 * The pull request events the batch may apply: of a pull request no other delivery of the batch
 * names, that their webhook may act on, with a complete payload and webhook config, linking one
 * task at most (a pull request linking several moves them one by one, each read again after the
 * last moved). Whether each is applied set-wise is decided once their tasks are read
 * (applyPullRequests).
 */
export function pickPullRequestEvents(inputs: { view: DeliveryInput; input: DeliveryInput }[]): PullRequestCandidate[] {
  const named = new Map<string, number>();
  for (const { input } of inputs) {
    const key = loosePullRequestKey(input);
    if (key) named.set(key, (named.get(key) ?? 0) + 1);
  }
  const picked: PullRequestCandidate[] = [];
  for (const { input, view } of inputs) {
    if (input.webhook.provider !== "github" || !input.delivery.event_type.startsWith("pull_request.")) continue;
    const entitlement = knownEntitlement(view);
    if (!entitlement || entitlement.refused) continue;
    const parsed = pullRequestPayload.safeParse(input.payload);
    if (!parsed.success || !webhookConfig.safeParse(input.webhook.config).success) continue;
    const payload = parsed.data;
    const key = pullRequestKey(payload.repository.full_name, payload.pull_request.number);
    if (named.get(key) !== 1) continue;
    const refs = linkedTaskRefs(payload);
    if (refs.sourceKeys.length + refs.taskIds.length > 1) continue;
    // A webhook's own secret is no credential for an installation: its payload's `installation` is dropped.
    if (input.delivery.via !== "app") delete payload.installation;
    picked.push({ input, payload, action: pullRequestAction(input, payload), key, refs });
  }
  return picked;
}

/**
 * The picked pull request events, after the batch's issue and custom events: their linked tasks
 * read locked (one statement per org), moved (one UPDATE, then what each finished task sets off),
 * then the hooks for all of them at once (the reviews). An event goes one by one instead, after
 * this step, when a delivery before it in the batch does (it might change what this one sees), or
 * when its task is linked by another picked event too; then so do the events after it. Their
 * locks are held already (automationBatch).
 */
export async function applyPullRequests(
  trx: Knex.Transaction,
  inputs: DeliveryInput[],
  picked: PullRequestCandidate[],
  outcomes: Map<DeliveryInput, DeliveryOutcome>,
  hooks: PullRequestHook[],
): Promise<void> {
  if (picked.length === 0) return;
  const linked = await lockLinkedTasks(trx, picked);
  const events = inOrder(inputs, picked, linked, outcomes).map((candidate): PullRequestEvent => ({ ...candidate, linked: linked.get(candidate)! }));
  const moves: StatusChange[] = [];
  const actions = new Map<PullRequestEvent, string[]>();
  for (const event of events) {
    const pr = event.payload.pull_request;
    const move = MOVES[event.action];
    const change = move && !pr.draft && event.linked[0] ? linkedTaskMove(move, event.linked[0], pr) : undefined;
    if (change) moves.push(change);
    actions.set(event, [move && pr.draft ? draftAction(pr) : change ? movedAction(change) : unchangedAction(pr, event.linked)]);
  }
  await changeTaskStatuses(trx, moves);
  for (const hook of hooks) {
    const more = await hook(trx, events);
    events.forEach((event, i) => actions.get(event)!.push(...more[i]!));
  }
  for (const event of events) outcomes.set(event.input, { actions: actions.get(event)! });
}

/** The tasks each candidate links (none, or one), read locked: one statement per org, in id order. */
async function lockLinkedTasks(trx: Knex.Transaction, picked: PullRequestCandidate[]): Promise<Map<PullRequestCandidate, Task[]>> {
  const linked = new Map<PullRequestCandidate, Task[]>();
  for (const [orgId, ofOrg] of groupBy(picked, (candidate) => candidate.input.webhook.org_id)) {
    const tasks = await lockTasksByKeysOrIds(
      trx,
      orgId,
      ofOrg.flatMap((candidate) => candidate.refs.sourceKeys),
      ofOrg.flatMap((candidate) => candidate.refs.taskIds),
    );
    for (const candidate of ofOrg) {
      const repository = candidate.payload.repository.full_name;
      const [key] = candidate.refs.sourceKeys;
      const [id] = candidate.refs.taskIds;
      const task = key !== undefined ? tasks.find((t) => t.source_key === key) : tasks.find((t) => t.id === id && inRepository(t, repository));
      linked.set(candidate, task ? [task] : []);
    }
  }
  return linked;
}

/**
 * The candidates applied set-wise: those before which, in the batch, every delivery the rules act
 * on was applied set-wise already (or is a candidate kept), and whose task no other candidate links.
 */
function inOrder(
  inputs: DeliveryInput[],
  picked: PullRequestCandidate[],
  linked: Map<PullRequestCandidate, Task[]>,
  outcomes: Map<DeliveryInput, DeliveryOutcome>,
): PullRequestCandidate[] {
  const linkedBy = new Map<number, number>();
  for (const task of [...linked.values()].flat()) linkedBy.set(task.id, (linkedBy.get(task.id) ?? 0) + 1);
  const candidates = new Map(picked.map((candidate) => [candidate.input, candidate]));
  const kept: PullRequestCandidate[] = [];
  for (const input of inputs) {
    const candidate = candidates.get(input);
    if (candidate && linked.get(candidate)!.every((task) => linkedBy.get(task.id) === 1)) kept.push(candidate);
    else if (!outcomes.has(input) && actedOn(input)) break;
  }
  return kept;
}

/** Whether the automation rules may change anything for this delivery (a GitHub issue or pull request event, or a custom sender's). */
function actedOn(input: DeliveryInput): boolean {
  const type = input.delivery.event_type;
  return input.webhook.provider !== "github" || type.startsWith("issues.") || type.startsWith("pull_request.");
}

/** The pull request a delivery names, read loosely (any pull_request.* event), as its lock key; or undefined. */
function loosePullRequestKey(input: DeliveryInput): string | undefined {
  if (!input.delivery.event_type.startsWith("pull_request.")) return undefined;
  const repository = looseRepository(input);
  const number = (input.payload.pull_request as { number?: unknown } | undefined)?.number;
  if (repository === undefined || typeof number !== "number") return undefined;
  return pullRequestKey(repository, number);
}
