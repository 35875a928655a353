import type { PullRequestHook } from "../automation/pull-request-rules.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { endPendingReview, requestReview } from "./request-review.js";
import { listPullRequestReviews, updateReview } from "./reviews.store.js";

/** Actions after which the pull request's head wants a review (unless it is a draft). */
const REQUEST_ON = new Set(["opened", "reopened", "ready_for_review"]);
/** Actions after which a pending review will get no verdict. */
const CANCEL_ON = new Set(["closed", "merged", "converted_to_draft"]);

/**
 * The Reviews rule on `pull_request.*`, run in the delivery's transaction after the linked tasks moved:
 * - opened / reopened / ready_for_review (not drafts) → a review of the head SHA, unless one is pending
 *   or that SHA was already reviewed;
 * - synchronize (new commits) → the pending review becomes `outdated` and a fresh one is requested for
 *   the new head SHA, kept by the same reviewer;
 * - closed, merged, converted_to_draft → the pending review is `cancelled`.
 * The automation rules hold the pull request's lock, so duplicate deliveries see each other's work.
 */
export const reviewPullRequestHook: PullRequestHook = async (trx, input, { payload, action, linked }) => {
  const pr = payload.pull_request;
  const ref = { org_id: input.webhook.org_id, repository: payload.repository.full_name, pull_number: pr.number };
  const reviews = await listPullRequestReviews(trx, ref, { forUpdate: true });
  const pending = reviews.find((review) => review.status === "pending");

  if (CANCEL_ON.has(action)) {
    if (!pending) return [];
    await endPendingReview(trx, pending, "cancelled", `pull request #${pr.number} ${action.replaceAll("_", " ")}`);
    return [`review #${pending.id} cancelled`];
  }
  const wanted = action === "synchronize" || REQUEST_ON.has(action);
  if (!wanted || pr.draft) return [];
  const sha = pr.head.sha;
  if (reviews.some((review) => review.head_sha === sha && (review.status === "pending" || review.status === "submitted"))) return [];
  // A late `opened` must not replace the review of newer commits: only a push outdates.
  if (pending && action !== "synchronize") return [];

  const config = webhookConfig.parse(input.webhook.config);
  if (pending) await updateReview(trx, pending.id, { status: "outdated" });
  const { review, assignee } = await requestReview(trx, {
    ...ref,
    team_id: config.team_id,
    pr_title: pr.title,
    head_sha: sha,
    html_url: pr.html_url,
    // Data only (present on App deliveries); GitHub calls go through an installation linked to the org.
    installation_id: payload.installation?.id ?? null,
    linked,
    keepReviewer: pending?.assignee_id,
  });
  const actions: string[] = [];
  if (pending) {
    await endPendingReview(trx, pending, "outdated", `new commits: head is now ${sha.slice(0, 7)}`, review);
    actions.push(`review #${pending.id} outdated`);
  }
  actions.push(`review #${review.id} requested for ${sha.slice(0, 7)}`, assignee ? `review #${review.id} assigned to ${assignee}` : `review #${review.id} waiting for a reviewer`);
  return actions;
};
