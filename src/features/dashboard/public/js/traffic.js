// Traffic at a glance: deliveries per minute over the last hour, stacked by status, as plain SVG.
import { api } from "./api.js";
import { $, duration, h } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 160;
const LABELS = { processed: "processed", ignored: "ignored (not subscribed)", failed: "failed", rejected: "rejected (bad signature)", received: "waiting" };

let latest = null;
let nextBucketTimer = null;

export async function loadTraffic() {
  const { body } = await api("/stats/deliveries?window=1h&bucket=1m");
  latest = body;
  renderTraffic();
  // The chart moves on its own when a new minute begins, traffic or not.
  clearTimeout(nextBucketTimer);
  const nextStart = Date.parse(body.buckets.at(-1).start) + body.bucket_seconds * 1000;
  nextBucketTimer = setTimeout(() => loadTraffic().catch(() => {}), Math.max(1000, nextStart - Date.parse(body.to) + 500));
}

export function stopTraffic() {
  clearTimeout(nextBucketTimer);
}

function renderTraffic() {
  const stats = latest;
  if (!stats) return;
  const stacked = stats.statuses;
  const max = Math.max(4, ...stats.buckets.map((bucket) => stacked.reduce((sum, status) => sum + bucket[status], 0)));
  const slot = WIDTH / stats.buckets.length;
  const scale = HEIGHT / max;
  const bars = stats.buckets.map((bucket, index) => {
    const total = stacked.reduce((sum, status) => sum + bucket[status], 0);
    let y = HEIGHT;
    const rects = stacked
      .filter((status) => bucket[status] > 0)
      .map((status) => {
        const height = bucket[status] * scale;
        y -= height;
        return h("rect", { class: `bar-${status}`, x: (index * slot + 1).toFixed(1), y: y.toFixed(1), width: Math.max(1, slot - 2).toFixed(1), height: height.toFixed(1) });
      });
    const time = new Date(bucket.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const detail = stacked.filter((status) => bucket[status] > 0).map((status) => `${bucket[status]} ${status}`).join(", ") || "none";
    const current = index === stats.buckets.length - 1;
    return h("g", { ...(current ? { "data-testid": "traffic-current" } : {}), dataset: { total: String(total), start: bucket.start } }, h("title", {}, `${time}: ${detail}`), ...rects);
  });
  const first = new Date(stats.buckets[0].start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const summary = stacked.map((status) => `${stats.totals[status]} ${LABELS[status]}`).join(", ");
  // Labels are HTML beside the SVG: the chart stretches to any width, text inside it would too.
  $("traffic-chart").replaceChildren(
    h("div", { class: "chart-scale small muted" }, `up to ${max} per minute`),
    h(
      "svg",
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": `Deliveries per minute over the last hour: ${summary}`, preserveAspectRatio: "none", class: "chart" },
      h("line", { class: "axis", x1: 0, x2: WIDTH, y1: HEIGHT - 0.5, y2: HEIGHT - 0.5 }),
      ...bars,
    ),
    h("div", { class: "chart-axis small muted", "aria-hidden": "true" }, h("span", {}, first), h("span", {}, "now")),
  );
  $("traffic-legend").replaceChildren(
    ...stacked.map((status) =>
      h("li", { dataset: { status } }, h("span", { class: `swatch bar-${status}`, "aria-hidden": "true" }), h("strong", {}, stats.totals[status]), ` ${LABELS[status]}`),
    ),
  );
  const backlog = stats.backlog;
  $("traffic-backlog").replaceChildren(
    h("span", { class: "stat" }, h("strong", { "data-testid": "backlog-count" }, backlog.received), " waiting for the worker"),
    h("span", { class: `stat${backlog.oldest_age_seconds > 60 ? " error" : ""}` }, "oldest ", h("strong", {}, duration(backlog.oldest_age_seconds))),
    h("span", { class: "stat" }, h("strong", {}, stats.totals.total), " in the last hour"),
  );
}
