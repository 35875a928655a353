// The delivery log of the selected webhook (filters by status, event type, GUID) and the inspector.
import { api, optionalList } from "./api.js";
import { $, $field, h, openDialog, timeAgo } from "./dom.js";
import { state } from "./state.js";

const REDELIVER_WAIT_MS = 20_000;

function filters() {
  const params = new URLSearchParams({ limit: "50" });
  const status = $field("filter-status").value;
  const eventType = $field("filter-event").value.trim();
  const guid = $field("filter-guid").value.trim();
  if (status) params.set("status", status);
  if (eventType) params.set("event_type", eventType);
  if (guid) params.set("delivery_guid", guid);
  return params;
}

export async function loadDeliveries() {
  const hook = state.webhooks.find((candidate) => candidate.id === state.selectedWebhookId);
  $("deliveries-webhook").textContent = hook ? `of ${hook.name || hook.id}` : "";
  $("delivery-filters").hidden = !hook;
  const { items } = hook ? await optionalList(`/webhooks/${hook.id}/deliveries?${filters()}`) : { items: [] };
  $("deliveries-body").replaceChildren(
    ...items.map((delivery) =>
      h(
        "tr",
        { dataset: { deliveryId: delivery.id, status: delivery.status } },
        h("td", { class: "muted" }, timeAgo(delivery.created_at)),
        h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Inspect ${delivery.event_type} delivery ${delivery.delivery_guid}`, onclick: () => inspectDelivery(hook.id, delivery.id) }, h("code", {}, delivery.event_type ?? "?"))),
        h("td", {}, h("span", { class: `pill status-${delivery.status}` }, delivery.status)),
        h("td", {}, describeActions(delivery.actions)),
        h("td", { class: "error" }, delivery.error ?? ""),
      ),
    ),
  );
  $("deliveries").hidden = items.length === 0;
  const empty = $("deliveries-empty");
  empty.hidden = items.length > 0;
  const filtered = [...filters().keys()].length > 1;
  empty.replaceChildren(
    ...(!hook
      ? [h("strong", {}, "No webhook selected."), "Deliveries appear here once a webhook is registered."]
      : filtered
        ? [h("strong", {}, "No delivery matches these filters.")]
        : [h("strong", {}, "No deliveries yet."), "Send one from GitHub (Recent Deliveries → Redeliver), or open an issue on the repository. They are sent to ", h("code", { class: "wrap" }, hook.receive_url)]),
  );
}

function describeActions(actions) {
  if (!Array.isArray(actions) || actions.length === 0) return "—";
  return actions.map((action) => (typeof action === "string" ? action : JSON.stringify(action))).join(", ");
}

/** Task ids an action names ("created task #12", "assigned #12 to eng-1"). */
function linkedTasks(actions) {
  const ids = new Set();
  for (const action of actions ?? []) for (const match of String(action).matchAll(/#(\d+)/g)) ids.add(Number(match[1]));
  return [...ids];
}

export async function inspectDelivery(webhookId, deliveryId) {
  const content = h("div", { class: "stack" }, h("p", { class: "muted" }, "Loading…"));
  const dialog = openDialog("Delivery", content, { wide: true });
  dialog.dataset.deliveryId = deliveryId;
  const result = h("p", { class: "notice", role: "status", "data-testid": "redeliver-result", hidden: true });
  const render = async () => {
    const { body } = await api(`/webhooks/${webhookId}/deliveries/${deliveryId}`);
    dialog.querySelector("h2").textContent = `${body.event_type} · ${body.status}`;
    content.replaceChildren(...inspectorBody(body, webhookId, result, render));
    return body;
  };
  try {
    await render();
  } catch (error) {
    content.replaceChildren(h("p", { class: "form-error", role: "alert" }, `Could not load the delivery: ${error.message}`));
  }
}

function inspectorBody(delivery, webhookId, result, render) {
  const tasks = linkedTasks(delivery.actions);
  const redeliver = async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    result.hidden = false;
    result.textContent = "Redelivering…";
    try {
      await api(`/webhooks/${webhookId}/deliveries/${delivery.id}/redeliver`, { method: "POST" });
      result.textContent = "Queued again; waiting for the worker…";
      const deadline = Date.now() + REDELIVER_WAIT_MS;
      let current;
      do {
        await new Promise((resolve) => setTimeout(resolve, 400));
        current = (await api(`/webhooks/${webhookId}/deliveries/${delivery.id}`)).body;
      } while (current.status === "received" && Date.now() < deadline);
      await render();
      result.hidden = false;
      result.textContent = current.status === "received" ? "Still waiting for the worker." : `Redelivered: ${current.status}${current.error ? ` (${current.error})` : ""}.`;
      result.dataset.status = current.status;
    } catch (error) {
      result.textContent = `Could not redeliver: ${error.message}`;
      button.disabled = false;
    }
  };
  return [
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h("dd", {}, h("span", { class: `pill status-${delivery.status}`, "data-testid": "inspector-status" }, delivery.status)),
      h("dt", {}, "GUID"),
      h("dd", {}, h("code", { class: "wrap" }, delivery.delivery_guid)),
      h("dt", {}, "Received"),
      h("dd", {}, new Date(delivery.created_at).toLocaleString()),
      h("dt", {}, "Finished"),
      h("dd", {}, delivery.processed_at ? new Date(delivery.processed_at).toLocaleString() : "—"),
      h("dt", {}, "Attempts"),
      h("dd", {}, String(delivery.attempts)),
      h("dt", {}, "Actions"),
      h("dd", {}, describeActions(delivery.actions)),
      h("dt", {}, "Tasks"),
      h("dd", {}, tasks.length ? tasks.map((id) => h("a", { href: `#task-${id}`, onclick: (event) => event.currentTarget.closest("dialog").close() }, `#${id} `)) : "—"),
      ...(delivery.error ? [h("dt", {}, "Error"), h("dd", { class: "error" }, delivery.error)] : []),
    ),
    delivery.status === "failed" ? h("button", { type: "button", class: "button primary", onclick: redeliver }, "Redeliver") : null,
    result,
    h("details", { class: "headers" }, h("summary", {}, "Request headers"), headersTable(delivery.headers ?? {})),
    h("details", { class: "payload-tree", open: true }, h("summary", {}, "Payload"), delivery.payload === null ? h("p", { class: "muted" }, "Not kept (rejected, or removed by retention).") : jsonTree(delivery.payload, 0)),
  ];
}

function headersTable(headers) {
  const entries = Object.entries(headers);
  if (!entries.length) return h("p", { class: "muted" }, "None kept.");
  return h("table", { class: "kv" }, h("tbody", {}, ...entries.map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, h("code", { class: "wrap" }, String(value)))))));
}

/** The payload as nested <details>: objects and arrays fold, the first two levels open. */
function jsonTree(value, depth) {
  if (value === null || typeof value !== "object") return h("span", { class: `json-${value === null ? "null" : typeof value}` }, JSON.stringify(value));
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  if (!entries.length) return h("span", { class: "muted" }, Array.isArray(value) ? "[]" : "{}");
  return h(
    "ul",
    { class: "json" },
    ...entries.map(([key, item]) =>
      item !== null && typeof item === "object" && (Array.isArray(item) ? item.length : Object.keys(item).length)
        ? h("li", {}, foldable(key, item, depth))
        : h("li", {}, h("span", { class: "json-key" }, key), ": ", jsonTree(item, depth + 1)),
    ),
  );
}

/** One folding node; a closed one builds its children when first opened (large payloads stay light). */
function foldable(key, item, depth) {
  const summary = h("summary", {}, h("span", { class: "json-key" }, key), Array.isArray(item) ? ` [${item.length}]` : ` {${Object.keys(item).length}}`);
  const open = depth < 1;
  const details = h("details", { open }, summary, open ? jsonTree(item, depth + 1) : null);
  if (!open) {
    details.addEventListener("toggle", () => {
      if (details.open && details.childElementCount === 1) details.append(jsonTree(item, depth + 1));
    });
  }
  return details;
}
