import type { PullRequestHook } from "../automation/pull-request-rules.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { endPendingReviews, requestReviews, type PendingReviewEnd, type ReviewRequest } from "./request-review.js";
import { endReviews, listPullRequestsReviews, type Review } from "./reviews.store.js";

/** Actions after which the pull request's head wants a review (unless it is a draft). */
const REQUEST_ON = new Set(["opened", "reopened", "ready_for_review"]);
/** Actions after which a pending review will get no verdict. */
const CANCEL_ON = new Set(["closed", "merged", "converted_to_draft"]);

/**
 * The Reviews rule on `pull_request.*`, run in the deliveries' transaction after the linked tasks
 * moved, for one pull request event or several (each of another pull request):
 * - opened / reopened / ready_for_review (not drafts) → a review of the head SHA, unless one is pending
 *   or that SHA was already reviewed;
 * - synchronize (new commits) → the pending review becomes `outdated` and a fresh one is requested for
 *   the new head SHA, kept by the same reviewer;
 * - closed, merged, converted_to_draft → the pending review is `cancelled`.
 * The automation rules hold the pull requests' locks, so duplicate deliveries see each other's work.
 * Their reviews are read in one statement, cancelled in a few, and requested together (requestReviews).
 */
export const reviewPullRequestHook: PullRequestHook = async (trx, events) => {
  const refs = events.map(({ input, payload }) => ({ org_id: input.webhook.org_id, repository: payload.repository.full_name, pull_number: payload.pull_request.number }));
  const reviewsOf = await listPullRequestsReviews(trx, refs, { forUpdate: true });
  const actions = events.map((): string[] => []);
  const cancels: PendingReviewEnd[] = [];
  const requests: { at: number; request: ReviewRequest; pending?: Review }[] = [];
  for (const [at, { input, payload, action }] of events.entries()) {
    const pr = payload.pull_request;
    const reviews = reviewsOf[at]!;
    const pending = reviews.find((review) => review.status === "pending");
    if (CANCEL_ON.has(action)) {
      if (!pending) continue;
      cancels.push({ review: pending, status: "cancelled", reason: `pull request #${pr.number} ${action.replaceAll("_", " ")}` });
      actions[at]!.push(`review #${pending.id} cancelled`);
      continue;
    }
    const wanted = action === "synchronize" || REQUEST_ON.has(action);
    if (!wanted || pr.draft) continue;
    const sha = pr.head.sha;
    if (reviews.some((review) => review.head_sha === sha && (review.status === "pending" || review.status === "submitted"))) continue;
    // A late `opened` must not replace the review of newer commits: only a push outdates.
    if (pending && action !== "synchronize") continue;
    const config = webhookConfig.parse(input.webhook.config);
    requests.push({
      at,
      pending,
      request: {
        ...refs[at]!,
        team_id: config.team_id,
        pr_title: pr.title,
        head_sha: sha,
        html_url: pr.html_url,
        // Data only (present on App deliveries); GitHub calls go through an installation linked to the org.
        installation_id: payload.installation?.id ?? null,
        linked: events[at]!.linked,
        keepReviewer: pending?.assignee_id,
      },
    });
  }
  await endPendingReviews(trx, cancels);
  // A pending review is outdated before its replacement is inserted: one pending review per pull request.
  const replaced = requests.flatMap(({ pending, request }, i) => (pending ? [{ pending, request, i }] : []));
  await endReviews(
    trx,
    replaced.map(({ pending }) => ({ id: pending.id, status: "outdated" })),
  );
  const requested = await requestReviews(
    trx,
    requests.map((r) => r.request),
  );
  await endPendingReviews(
    trx,
    replaced.map(({ pending, request, i }) => ({
      review: pending,
      status: "outdated",
      reason: `new commits: head is now ${request.head_sha.slice(0, 7)}`,
      supersededBy: requested[i]!.review,
    })),
  );
  for (const [i, { at, pending }] of requests.entries()) {
    const { review, assignee } = requested[i]!;
    const sha = review.head_sha.slice(0, 7);
    if (pending) actions[at]!.push(`review #${pending.id} outdated`);
    actions[at]!.push(`review #${review.id} requested for ${sha}`, assignee ? `review #${review.id} assigned to ${assignee}` : `review #${review.id} waiting for a reviewer`);
  }
  return actions;
};
