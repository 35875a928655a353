import type { DeliveryProcessor } from "../webhooks/delivery-processor.js";
import { repositoryNotEntitled } from "../webhooks/repository-entitlement.js";
import { applyCustomEvent } from "./custom-rules.js";
import { applyIssueEvent } from "./issue-rules.js";
import { createAutomationBatch } from "./automation-batch.js";
import { applyPullRequestEvent, type PullRequestHook } from "./pull-request-rules.js";

/**
 * The rules every delivery goes through, whichever door it came in by. A delivery signed with a
 * webhook's own secret acts only on the repositories that webhook is entitled to, and its
 * payload's `installation` is dropped: it is data a sender wrote, never a credential.
 */
export function createAutomationProcessor(options: { pullRequestHooks?: PullRequestHook[] } = {}): DeliveryProcessor {
  const processor: DeliveryProcessor = async (trx, input) => {
    if (input.webhook.provider === "custom") return applyCustomEvent(trx, input);
    const refused = await repositoryNotEntitled(trx, input);
    if (refused) return { actions: [refused], status: "ignored" };
    if (input.delivery.via !== "app" && "installation" in input.payload) {
      const { installation: _untrusted, ...payload } = input.payload;
      input = { ...input, payload };
    }
    const event = input.delivery.event_type.split(".")[0];
    if (event === "issues") return applyIssueEvent(trx, input);
    if (event === "pull_request") return applyPullRequestEvent(trx, input, options.pullRequestHooks);
    return { actions: [`no rule for ${input.delivery.event_type}`] };
  };
  processor.batch = createAutomationBatch(options.pullRequestHooks);
  return processor;
}
