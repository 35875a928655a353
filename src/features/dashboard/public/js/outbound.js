// Outbound endpoints: health (last attempts, consecutive failures, disabled and why), their
// delivery log with attempts and Redeliver; create, rotate secret, enable/disable.
import { api, optionalList } from "./api.js";
import { $, copyButton, h, openDialog, showError, timeAgo } from "./dom.js";

const expanded = new Set();

export async function loadOutbound() {
  const { items, available } = await optionalList("/outbound-webhooks?limit=100");
  const logs = await Promise.all(items.map((endpoint) => api(`/outbound-webhooks/${endpoint.id}/deliveries?limit=20`).then((r) => r.body).catch(() => [])));
  $("outbound").replaceChildren(...items.map((endpoint, index) => endpointItem(endpoint, logs[index])));
  const empty = $("outbound-empty");
  empty.hidden = items.length > 0;
  empty.replaceChildren(
    ...(available
      ? [h("strong", {}, "No outbound endpoint yet."), "Add one to receive signed task and review events (CI, chat, your own service)."]
      : [h("strong", {}, "Outbound notifications are not available on this server.")]),
  );
}

/** Attempts, newest first, across the endpoint's recent deliveries. */
function recentAttempts(log) {
  return log.flatMap((delivery) => delivery.attempts.map((attempt) => ({ ...attempt, event: delivery.event }))).sort((a, b) => new Date(b.attempted_at).getTime() - new Date(a.attempted_at).getTime());
}

function succeeded(attempt) {
  return attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
}

function endpointItem(endpoint, log) {
  const attempts = recentAttempts(log);
  const streak = attempts.findIndex(succeeded);
  const consecutive = streak === -1 ? attempts.length : streak;
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const state = !endpoint.active ? ["inactive", "disabled"] : consecutive > 0 ? ["failing", "failing"] : attempts.length ? ["healthy", "healthy"] : ["idle", "no attempts yet"];
  const act = async (request) => {
    showError(error, null);
    try {
      await request();
      await loadOutbound();
    } catch (caught) {
      showError(error, caught);
    }
  };
  const open = expanded.has(endpoint.id);
  return h(
    "li",
    { class: "endpoint", dataset: { endpointId: endpoint.id, active: String(endpoint.active) } },
    h("div", { class: "endpoint-head" }, h("span", { class: `health ${state[0]}`, "aria-hidden": "true" }), h("code", { class: "wrap" }, endpoint.url), h("span", { class: `pill endpoint-${state[0]}`, "data-testid": "endpoint-state" }, state[1])),
    h(
      "dl",
      { class: "facts small" },
      h("dt", {}, "Events"),
      h("dd", {}, endpoint.events.join(", ")),
      endpoint.description ? [h("dt", {}, "About"), h("dd", {}, endpoint.description)] : null,
      h("dt", {}, "Consecutive failures"),
      h("dd", { "data-testid": "consecutive-failures" }, String(consecutive), endpoint.failing_since ? ` · failing since ${timeAgo(endpoint.failing_since)}` : ""),
      h("dt", {}, "Last attempts"),
      h("dd", {}, attempts.length ? attempts.slice(0, 5).map((attempt) => h("span", { class: `attempt ${succeeded(attempt) ? "ok" : "bad"}`, title: attempt.error ?? attempt.response_excerpt ?? "" }, `${attempt.status_code ?? "no answer"} ${timeAgo(attempt.attempted_at)}`)) : "none"),
      !endpoint.active ? [h("dt", {}, "Disabled"), h("dd", { "data-testid": "disabled-reason" }, `${endpoint.disabled_reason ?? "disabled"}${endpoint.disabled_at ? `, ${timeAgo(endpoint.disabled_at)}` : ""}`)] : null,
      h("dt", {}, "Secret"),
      h("dd", {}, endpoint.secret_hint),
    ),
    error,
    h(
      "div",
      { class: "button-row" },
      h("button", { type: "button", class: "button", onclick: () => act(() => api(`/outbound-webhooks/${endpoint.id}`, { method: "PATCH", body: { active: !endpoint.active } })) }, endpoint.active ? "Disable" : "Enable"),
      h("button", { type: "button", class: "button", onclick: () => act(async () => showSecret((await api(`/outbound-webhooks/${endpoint.id}/rotate-secret`, { method: "POST" })).body, "Secret rotated")) }, "Rotate secret"),
      h(
        "button",
        { type: "button", class: "button ghost", "aria-expanded": String(open), onclick: () => { open ? expanded.delete(endpoint.id) : expanded.add(endpoint.id); loadOutbound().catch(() => {}); } },
        open ? "Hide deliveries" : `Deliveries (${log.length})`,
      ),
    ),
    open ? deliveryLog(endpoint, log, act) : null,
  );
}

function deliveryLog(endpoint, log, act) {
  if (!log.length) return h("p", { class: "muted small" }, "No deliveries yet.");
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Deliveries to ${endpoint.url}` },
    h(
      "table",
      { class: "deliveries" },
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Event"), h("th", {}, "Status"), h("th", {}, "Attempts"), h("th", {}, "Last answer"), h("th", {}, h("span", { class: "visually-hidden" }, "Actions")))),
      h(
        "tbody",
        {},
        ...log.map((delivery) =>
          h(
            "tr",
            { dataset: { outboundDeliveryId: delivery.id } },
            h("td", { class: "muted" }, timeAgo(delivery.created_at)),
            h("td", {}, h("code", {}, delivery.event)),
            h("td", {}, h("span", { class: `pill status-${delivery.status}` }, delivery.status)),
            h("td", {}, delivery.attempts.length ? h("details", {}, h("summary", {}, String(delivery.attempt_count)), h("ol", { class: "attempts small" }, ...delivery.attempts.map(attemptItem))) : String(delivery.attempt_count)),
            h("td", { class: delivery.last_error ? "error" : "" }, delivery.last_status_code ?? delivery.last_error ?? "—"),
            h("td", {}, delivery.status === "pending" ? "" : h("button", { type: "button", class: "button small", disabled: !endpoint.active, onclick: () => act(() => api(`/outbound-webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, { method: "POST" })) }, "Redeliver")),
          ),
        ),
      ),
    ),
  );
}

function attemptItem(attempt) {
  const answer = attempt.status_code ? `HTTP ${attempt.status_code}` : (attempt.error ?? "no answer");
  return h("li", { class: succeeded(attempt) ? "ok" : "bad" }, `${new Date(attempt.attempted_at).toLocaleTimeString()} · ${answer} · ${attempt.duration_ms} ms`, attempt.status_code && attempt.error ? ` · ${attempt.error}` : "");
}

function showSecret(endpoint, title) {
  openDialog(
    title,
    h(
      "div",
      { class: "stack" },
      h("p", { class: "notice", role: "status" }, "Copy the signing secret now: it is shown only this once."),
      h("p", {}, h("code", { class: "wrap", "data-testid": "outbound-secret" }, endpoint.secret), " ", copyButton(endpoint.secret, "signing secret")),
      h("p", { class: "small" }, "Requests carry Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature); verify them with this secret."),
    ),
  );
}

export function createOutboundDialog() {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const url = h("input", { id: "new-outbound-url", type: "url", required: true, placeholder: "https://ci.example.com/entourage-events", autocomplete: "off" });
  const events = h("input", { id: "new-outbound-events", type: "text", value: "task.*, review.*", autocomplete: "off", spellcheck: "false", "aria-describedby": "new-outbound-events-hint" });
  const description = h("input", { id: "new-outbound-description", type: "text", autocomplete: "off" });
  const submit = async (event) => {
    event.preventDefault();
    showError(error, null);
    try {
      const { body } = await api("/outbound-webhooks", {
        method: "POST",
        body: { url: url.value.trim(), events: events.value.split(/[\s,]+/).filter(Boolean), ...(description.value.trim() ? { description: description.value.trim() } : {}) },
      });
      dialog.close();
      await loadOutbound();
      showSecret(body, "Endpoint added");
    } catch (caught) {
      showError(error, caught);
    }
  };
  const dialog = openDialog(
    "New outbound endpoint",
    h(
      "form",
      { class: "stack", onsubmit: submit },
      h("label", { for: "new-outbound-url" }, "URL"),
      url,
      h("label", { for: "new-outbound-events" }, "Events"),
      events,
      h("p", { class: "hint", id: "new-outbound-events-hint" }, "task.*, review.*, task.completed, outbound_webhook.disabled or *."),
      h("label", { for: "new-outbound-description" }, "Description (optional)"),
      description,
      error,
      h("button", { type: "submit", class: "button primary" }, "Add endpoint"),
    ),
  );
  url.focus();
}
