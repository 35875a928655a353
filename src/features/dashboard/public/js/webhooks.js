// Webhooks managed here: the list with honest counts, create, edit events, pause/resume,
// regenerate the secret with a grace period, delete with confirmation.
import { api, optionalList } from "./api.js";
import { $, copyButton, h, openDialog, showError, timeAgo } from "./dom.js";
import { loadDeliveries } from "./deliveries.js";
import { state } from "./state.js";

const COUNT_LABELS = [
  ["processed", "processed"],
  ["ignored", "ignored (not subscribed)"],
  ["failed", "failed"],
  ["rejected", "rejected (bad signature)"],
  ["received", "waiting"],
];
const GITHUB_EVENT_NAMES = { issues: "Issues", pull_request: "Pull requests", issue_comment: "Issue comments", push: "Pushes", pull_request_review: "Pull request reviews", installation: "(App only)" };

export async function loadWebhooks() {
  const { items, available } = await optionalList("/webhooks");
  state.webhooks = items;
  if (!items.some((hook) => hook.id === state.selectedWebhookId)) state.selectedWebhookId = items[0]?.id ?? null;
  renderWebhooks(available);
  renderWebhookDetail();
  await loadDeliveries();
}

function health(hook) {
  const counts = hook.delivery_counts ?? {};
  if (hook.active === false) return ["inactive", "paused"];
  if ((counts.failed ?? 0) > 0) return ["warning", `${counts.failed} failed`];
  if ((counts.rejected ?? 0) > 0) return ["warning", `${counts.rejected} rejected`];
  if (!hook.last_delivery_at) return ["idle", "no deliveries yet"];
  return ["healthy", "healthy"];
}

/** Counts that say what they count: a forged (rejected) delivery is not a failed one. */
function countsLine(hook) {
  const counts = hook.delivery_counts ?? {};
  const parts = COUNT_LABELS.filter(([status]) => (counts[status] ?? 0) > 0).map(([status, label]) =>
    h("span", { class: `count-${status}`, dataset: { count: status } }, `${counts[status]} ${label}`),
  );
  return parts.length ? parts : [h("span", {}, "no deliveries yet")];
}

let shownList = "";

export function renderWebhooks(available = true) {
  const key = JSON.stringify([state.webhooks, state.selectedWebhookId, available, Math.floor(Date.now() / 30_000)]);
  if (key === shownList) return;
  shownList = key;
  $("webhooks").replaceChildren(
    ...state.webhooks.map((hook) => {
      const [level, label] = health(hook);
      const selected = hook.id === state.selectedWebhookId;
      return h(
        "li",
        { class: `webhook${selected ? " selected" : ""}`, dataset: { webhookId: hook.id } },
        h(
          "button",
          { type: "button", class: "webhook-select", "aria-pressed": String(selected), onclick: () => selectWebhook(hook.id) },
          h("span", { class: "webhook-name" }, h("span", { class: `health ${level}`, "aria-hidden": "true" }), hook.name || `${hook.provider} webhook`, h("span", { class: "muted small" }, ` · ${label}`)),
          h("span", { class: "webhook-meta" }, h("span", {}, hook.provider), h("span", {}, `last delivery ${timeAgo(hook.last_delivery_at)}`)),
          h("span", { class: "webhook-counts small" }, ...countsLine(hook)),
        ),
      );
    }),
  );
  const empty = $("webhooks-empty");
  empty.hidden = state.webhooks.length > 0;
  empty.replaceChildren(
    ...(available
      ? [h("strong", {}, "Register a webhook"), "Create one with “New webhook”, then paste its payload URL and secret into GitHub → Settings → Webhooks."]
      : [h("strong", {}, "Webhooks are not available on this server yet."), "Tasks and reviews still update live."]),
  );
}

function selectWebhook(id) {
  state.selectedWebhookId = id;
  renderWebhooks();
  renderWebhookDetail();
  loadDeliveries().catch(() => {});
}

function teamName(id) {
  return state.teams.find((team) => team.id === id)?.name ?? id;
}

let shownDetail = "";

export function renderWebhookDetail() {
  const panel = $("webhook-detail");
  const hook = state.webhooks.find((candidate) => candidate.id === state.selectedWebhookId);
  // A reload that changed nothing keeps the panel as it is (focus, typed text, buttons under the pointer).
  const key = JSON.stringify(hook ?? null);
  if (key === shownDetail) return;
  shownDetail = key;
  if (!hook) {
    panel.replaceChildren();
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const events = h("input", { id: "webhook-events", type: "text", value: hook.events.join(", "), autocomplete: "off", spellcheck: "false" });
  const saveEvents = async (event) => {
    event.preventDefault();
    await act(error, () => api(`/webhooks/${hook.id}`, { method: "PATCH", body: { events: splitList(events.value) } }));
  };
  panel.replaceChildren(
    h("h3", {}, hook.name || `${hook.provider} webhook`, hook.active ? null : h("span", { class: "badge" }, "paused")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Payload URL"),
      h("dd", {}, h("code", { class: "wrap" }, hook.receive_url), " ", copyButton(hook.receive_url, "payload URL")),
      h("dt", {}, "Provider"),
      h("dd", {}, hook.provider),
      h("dt", {}, "Team"),
      h("dd", {}, teamName(hook.config.team_id), hook.config.auto_assign ? " · auto-assign" : " · no auto-assign"),
      h("dt", {}, "Repositories"),
      h("dd", {}, hook.entitled_repositories?.length ? hook.entitled_repositories.join(", ") : hook.provider === "github" ? "the first repository it receives from" : "—"),
      h("dt", {}, "Secret"),
      h("dd", {}, hook.secret_hint, hook.previous_secret_expires_at ? ` (the previous one works until ${new Date(hook.previous_secret_expires_at).toLocaleString()})` : ""),
    ),
    h("form", { class: "inline-form", onsubmit: saveEvents }, h("label", { for: "webhook-events" }, "Events"), events, h("button", { type: "submit", class: "button" }, "Save events")),
    ...(hook.routing_warnings ?? []).map((warning) => h("p", { class: "muted small" }, warning)),
    error,
    h(
      "div",
      { class: "button-row" },
      h("button", { type: "button", class: "button", onclick: () => act(error, () => api(`/webhooks/${hook.id}`, { method: "PATCH", body: { active: !hook.active } })) }, hook.active ? "Pause" : "Resume"),
      h("button", { type: "button", class: "button", onclick: () => regenerateDialog(hook) }, "Regenerate secret"),
      h("button", { type: "button", class: "button danger", onclick: () => deleteDialog(hook) }, "Delete"),
    ),
  );
}

async function act(error, request) {
  showError(error, null);
  try {
    await request();
    await loadWebhooks();
  } catch (caught) {
    showError(error, caught);
  }
}

function splitList(text) {
  return text.split(/[\s,]+/).map((item) => item.trim()).filter(Boolean);
}

export function createWebhookDialog() {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const field = (id, label, input, hint) => h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
  const name = h("input", { id: "new-webhook-name", type: "text", autocomplete: "off" });
  const provider = h("select", { id: "new-webhook-provider" }, h("option", { value: "github" }, "GitHub"), h("option", { value: "custom" }, "Custom sender"));
  const events = h("input", { id: "new-webhook-events", type: "text", value: "issues.*, pull_request.*", autocomplete: "off", spellcheck: "false", "aria-describedby": "new-webhook-events-hint" });
  provider.addEventListener("change", () => (events.value = provider.value === "github" ? "issues.*, pull_request.*" : "task.*"));
  const team = h("select", { id: "new-webhook-team" }, ...state.teams.map((t) => h("option", { value: t.id }, t.name)));
  const autoAssign = h("input", { id: "new-webhook-auto-assign", type: "checkbox" });
  const repositories = h("input", { id: "new-webhook-repositories", type: "text", placeholder: "owner/name, …", autocomplete: "off", spellcheck: "false", "aria-describedby": "new-webhook-repositories-hint" });
  const submit = async (event) => {
    event.preventDefault();
    showError(error, null);
    const repos = splitList(repositories.value);
    try {
      const { body } = await api("/webhooks", {
        method: "POST",
        body: {
          ...(name.value.trim() ? { name: name.value.trim() } : {}),
          provider: provider.value,
          events: splitList(events.value),
          config: { team_id: team.value, auto_assign: autoAssign.checked, ...(repos.length ? { repositories: repos } : {}) },
        },
      });
      dialog.close();
      state.selectedWebhookId = body.id;
      await loadWebhooks();
      secretDialog(body, "Webhook created");
    } catch (caught) {
      showError(error, caught);
    }
  };
  const dialog = openDialog(
    "New webhook",
    h(
      "form",
      { class: "stack", onsubmit: submit },
      field("new-webhook-name", "Name", name),
      field("new-webhook-provider", "Provider", provider),
      field("new-webhook-events", "Events", events, "Comma-separated: issues.opened, pull_request.*, or * for all."),
      field("new-webhook-team", "Team", team),
      h("div", { class: "field check" }, autoAssign, h("label", { for: "new-webhook-auto-assign" }, "Assign new tasks to a free engineer")),
      field("new-webhook-repositories", "Repositories (optional)", repositories, "The repositories it may act on; empty: the first one it receives from."),
      error,
      h("button", { type: "submit", class: "button primary" }, "Create webhook"),
    ),
  );
  name.focus();
}

/** The receive URL and secret, shown once, with what to paste into GitHub. */
function secretDialog(hook, title) {
  const kinds = [...new Set(hook.events.map((event) => event.split(".")[0]))];
  const everything = hook.events.includes("*");
  const github = hook.provider === "github";
  openDialog(
    title,
    h(
      "div",
      { class: "stack" },
      h("p", { class: "notice", role: "status" }, "Copy the secret now: it is shown only this once."),
      h("dl", { class: "facts" },
        h("dt", {}, "Payload URL"),
        h("dd", {}, h("code", { class: "wrap", "data-testid": "new-receive-url" }, hook.receive_url), " ", copyButton(hook.receive_url, "payload URL")),
        h("dt", {}, "Secret"),
        h("dd", {}, h("code", { class: "wrap", "data-testid": "new-secret" }, hook.secret), " ", copyButton(hook.secret, "secret")),
      ),
      github
        ? h(
            "div",
            {},
            h("h3", {}, "In GitHub: Settings → Webhooks → Add webhook"),
            h(
              "ol",
              { class: "steps" },
              h("li", {}, "Payload URL: the URL above"),
              h("li", {}, "Content type: ", h("code", {}, "application/json")),
              h("li", {}, "Secret: the secret above"),
              h("li", {}, "SSL verification: Enable"),
              h("li", {}, everything ? "Which events: Send me everything" : `Which events: Let me select individual events → ${kinds.map((kind) => GITHUB_EVENT_NAMES[kind] ?? kind).join(", ")}`),
              h("li", {}, "Active: checked, then Add webhook"),
            ),
          )
        : h(
            "div",
            {},
            h("h3", {}, "From your sender"),
            h("p", { class: "small" }, "POST JSON to the payload URL with ", h("code", {}, "X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>"), ", the event in ", h("code", {}, "X-Entourage-Event"), " and a unique id in ", h("code", {}, "X-Entourage-Delivery"), "."),
          ),
    ),
    { wide: true },
  );
}

function regenerateDialog(hook) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const grace = h("select", { id: "grace-period" }, h("option", { value: "0" }, "none: the old secret stops now"), h("option", { value: "3600", selected: true }, "1 hour"), h("option", { value: "86400" }, "24 hours"), h("option", { value: "604800" }, "7 days"));
  const submit = async (event) => {
    event.preventDefault();
    try {
      const { body } = await api(`/webhooks/${hook.id}/regenerate-secret`, { method: "POST", body: { grace_period_seconds: Number(grace.value) } });
      dialog.close();
      await loadWebhooks();
      secretDialog(body, "New secret");
    } catch (caught) {
      showError(error, caught);
    }
  };
  const dialog = openDialog(
    "Regenerate the secret",
    h("form", { class: "stack", onsubmit: submit }, h("p", {}, "Deliveries signed with the old secret keep being accepted during the grace period, while you update the sender."), h("label", { for: "grace-period" }, "Grace period"), grace, error, h("button", { type: "submit", class: "button primary" }, "Regenerate")),
  );
}

function deleteDialog(hook) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const confirm = async () => {
    try {
      await api(`/webhooks/${hook.id}`, { method: "DELETE" });
      dialog.close();
      await loadWebhooks();
    } catch (caught) {
      showError(error, caught);
    }
  };
  const dialog = openDialog(
    "Delete this webhook?",
    h(
      "div",
      { class: "stack" },
      h("p", {}, `“${hook.name || hook.id}” and its whole delivery log are deleted; its payload URL then answers 404. This cannot be undone.`),
      error,
      h("div", { class: "button-row" }, h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Keep it"), h("button", { type: "button", class: "button danger", onclick: confirm }, "Delete webhook")),
    ),
  );
}
