// The review queue: pending reviews with their reviewer.
import { optionalList } from "./api.js";
import { $, h, safeUrl } from "./dom.js";
import { state } from "./state.js";

export async function loadReviews() {
  const { items, available } = await optionalList("/reviews?status=pending");
  $("reviews").replaceChildren(
    ...items.map((review) => {
      const agent = review.assignee_id ? state.agents.get(review.assignee_id) : undefined;
      const url = safeUrl(review.html_url);
      const label = `${review.repository ?? "pull request"}#${review.pull_number ?? "?"}`;
      return h(
        "li",
        { class: "review", dataset: { reviewId: review.id } },
        h("div", { class: "review-title" }, url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label) : label, h("span", { class: `pill status-${review.status}` }, review.status)),
        h(
          "div",
          { class: "review-meta" },
          `${agent ? agent.name : review.assignee_id ? "agent" : "waiting for a reviewer"}`,
          review.head_sha ? ` · ${String(review.head_sha).slice(0, 7)}` : "",
          review.task_id ? ` · task #${review.task_id}` : "",
        ),
      );
    }),
  );
  const empty = $("reviews-empty");
  empty.hidden = items.length > 0;
  empty.replaceChildren(
    ...(available
      ? [h("strong", {}, "No reviews waiting."), "Opening a pull request on a connected repository asks a reviewer agent for a review; it shows up here."]
      : [h("strong", {}, "Reviews are not available on this server yet."), "The queue fills once pull request reviews are enabled."]),
  );
}
