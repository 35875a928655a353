import type { Knex } from "knex";
import { lockKeys } from "../../db/lock-key.js";
import { assignToAvailableEngineer } from "../tasks/task-assignment.js";
import { createTasks } from "../tasks/tasks.service.js";
import { lockTasksBySourceKeys } from "../tasks/tasks.store.js";
import type { DeliveryBatchProcessor, DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { knownEntitlement } from "../webhooks/repository-entitlement.js";
import { claimFirstRepository } from "../webhooks/webhooks.store.js";
import { webhookConfig, type WebhookConfig } from "../webhooks/webhooks.schema.js";
import { issueSourceKey } from "./github-issue-source.js";
import { issuePayload, type IssuePayload } from "./github-payloads.js";
import { NO_ENGINEER_FREE } from "./issue-rules.js";
import { issueTaskInput } from "./issue-task-input.js";

interface NewIssue {
  input: DeliveryInput;
  payload: IssuePayload;
  config: WebhookConfig;
  key: string;
}

/**
 * `issues.opened` of new issues, many at once: what applyIssueEvent does for each, in a few statements.
 * 1. Take the deliveries that open an issue no other delivery of the batch touches, that their
 *    webhook may act on, and whose payload is complete; the rest go one by one.
 * 2. Lock their issues (one statement) and leave out those that already have a task.
 * 3. Create the tasks (one INSERT, one events append).
 * 4. auto_assign: hand them to free engineers in order until a team has none free; the rest wait.
 */
export const openIssuesInBatch: DeliveryBatchProcessor = async (trx, inputs) => {
  const outcomes = new Map<DeliveryInput, DeliveryOutcome>();
  let issues = pickNewIssues(await recordFirstRepositories(trx, inputs));
  if (issues.length === 0) return outcomes;
  await lockKeys(
    trx,
    issues.map((issue) => issue.key),
  );
  for (const orgId of new Set(issues.map((issue) => issue.input.webhook.org_id))) {
    const existing = await lockTasksBySourceKeys(
      trx,
      orgId,
      issues.filter((issue) => issue.input.webhook.org_id === orgId).map((issue) => issue.key),
    );
    issues = issues.filter((issue) => issue.input.webhook.org_id !== orgId || !existing.has(issue.key));
  }
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
  return outcomes;
};

/**
 * A webhook that has not recorded its first repository yet records it once for the batch (as the
 * first of its deliveries would, one by one), so that its deliveries' entitlement is known.
 * Returns views of the inputs carrying it; `NewIssue.input` stays the caller's object.
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

function pickNewIssues(inputs: { view: DeliveryInput; input: DeliveryInput }[]): NewIssue[] {
  const picked: NewIssue[] = [];
  const touched = new Map<string, number>();
  for (const { input } of inputs) {
    const key = looseIssueKey(input);
    if (key) touched.set(key, (touched.get(key) ?? 0) + 1);
  }
  for (const { input, view } of inputs) {
    if (input.webhook.provider !== "github" || input.delivery.event_type !== "issues.opened") continue;
    const entitlement = knownEntitlement(view);
    if (!entitlement || entitlement.refused) continue;
    const parsed = issuePayload.safeParse(input.payload);
    const config = webhookConfig.safeParse(input.webhook.config);
    if (!parsed.success || !config.success) continue;
    const payload = parsed.data;
    if (payload.action !== "opened" || payload.issue.state !== "open" || payload.issue.pull_request) continue;
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
  const repository = (input.payload.repository as { full_name?: unknown } | undefined)?.full_name;
  const number = (input.payload.issue as { number?: unknown } | undefined)?.number;
  if (typeof repository !== "string" || typeof number !== "number") return undefined;
  return issueSourceKey(repository, number);
}
