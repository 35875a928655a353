import type { DeliveryProcessor } from "../webhooks/delivery-processor.js";
import { applyCustomEvent } from "./custom-rules.js";
import { applyIssueEvent } from "./issue-rules.js";
import { applyPullRequestEvent, type PullRequestHook } from "./pull-request-rules.js";

/** The rules every delivery goes through, whichever door it came in by. */
export function createAutomationProcessor(options: { pullRequestHooks?: PullRequestHook[] } = {}): DeliveryProcessor {
  return async (trx, input) => {
    if (input.webhook.provider === "custom") return applyCustomEvent(trx, input);
    const event = input.delivery.event_type.split(".")[0];
    if (event === "issues") return applyIssueEvent(trx, input);
    if (event === "pull_request") return applyPullRequestEvent(trx, input, options.pullRequestHooks);
    return { actions: [`no rule for ${input.delivery.event_type}`] };
  };
}
