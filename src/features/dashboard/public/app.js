// Entourage dashboard: plain ES module, no build step. Data comes from the REST API (X-API-Key);
// live changes from the SSE stream /api/v1/events (EventSource with a short-lived JWT).

const KEY_STORAGE = "entourage.apiKey";
const TOKEN_SECONDS = 15 * 60;
const REFRESH_BEFORE_MS = 60_000;
const RECONNECT_MS = 2_000;
const STATUSES = [
  ["todo", "To do"],
  ["in_progress", "In progress"],
  ["in_review", "In review"],
  ["done", "Done"],
  ["cancelled", "Cancelled"],
];

const state = {
  apiKey: sessionStorage.getItem(KEY_STORAGE) ?? "",
  tasks: new Map(),
  agents: new Map(),
  webhooks: [],
  selectedWebhookId: null,
  lastEventId: null,
  source: null,
  tokenTimer: null,
  reconnectTimer: null,
  refreshTimers: new Map(),
  flash: new Set(),
};

const $ = (id) => document.getElementById(id);

/** Builds an element; strings become text nodes (never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    method: options.method ?? "GET",
    headers: { "X-API-Key": state.apiKey, ...(options.body ? { "Content-Type": "application/json" } : {}) },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  const body = text ? safeJson(text) : undefined;
  if (!response.ok) {
    if (response.status === 401 && !options.signingIn) signOut("Your API key was refused. Sign in again.");
    throw new HttpError(response.status, body?.error?.message ?? `HTTP ${response.status}`);
  }
  return { body, link: response.headers.get("Link") };
}

/** A list endpoint, or [] when the server does not have it yet (404). */
async function optionalList(path) {
  try {
    return { items: (await api(path)).body ?? [], available: true };
  } catch (error) {
    if (error.status === 404) return { items: [], available: false };
    throw error;
  }
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function safeUrl(value) {
  return typeof value === "string" && /^https?:\/\//i.test(value) ? value : undefined;
}

function timeAgo(value) {
  if (!value) return "never";
  const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(value).toLocaleDateString();
}

// ---------------------------------------------------------------- session

async function signIn(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  const error = $("sign-in-error");
  error.hidden = true;
  $("sign-in-button").disabled = true;
  state.apiKey = key;
  try {
    await api("/auth/token", { method: "POST", body: { expires_in: 60 }, signingIn: true });
    sessionStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    await showDashboard();
  } catch (caught) {
    state.apiKey = "";
    error.textContent = caught.status === 401 ? "That API key was not accepted." : `Could not sign in: ${caught.message}`;
    error.hidden = false;
  } finally {
    $("sign-in-button").disabled = false;
  }
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  state.apiKey = "";
  closeStream();
  $("dashboard-view").hidden = true;
  $("session").hidden = true;
  $("sign-in-view").hidden = false;
  const error = $("sign-in-error");
  error.hidden = !message;
  error.textContent = message ?? "";
}

async function showDashboard() {
  $("sign-in-view").hidden = true;
  $("dashboard-view").hidden = false;
  $("session").hidden = false;
  // Stream first, then load: whatever changes while loading arrives on the stream.
  await openStream();
  await loadAgents(); // names for cards and reviews
  await Promise.all([loadTasks(), loadWebhooks(), loadReviews(), loadGithub()]);
}

// ---------------------------------------------------------------- live stream

function setLive(stateName, label) {
  const el = $("live-status");
  el.dataset.state = stateName;
  el.textContent = label;
}

async function openStream() {
  closeStream();
  let token;
  try {
    token = (await api("/auth/token", { method: "POST", body: { expires_in: TOKEN_SECONDS } })).body;
  } catch (error) {
    if (error.status === 401) return;
    setLive("offline", "Offline");
    state.reconnectTimer = setTimeout(openStream, RECONNECT_MS * 2);
    return;
  }
  const params = new URLSearchParams({ access_token: token.token, types: "task.*,delivery.*,review.*,webhook.*" });
  if (state.lastEventId !== null) params.set("last_event_id", String(state.lastEventId));
  const source = new EventSource(`/api/v1/events?${params}`);
  state.source = source;
  source.onopen = () => setLive("live", "Live");
  source.onmessage = (message) => {
    state.lastEventId = Number(message.lastEventId) || state.lastEventId;
    const event = safeJson(message.data);
    if (event) applyEvent(event);
  };
  // The server ends the stream when its token expires: reopen at once with a fresh one, resuming after the last id.
  source.addEventListener("token_expired", () => {
    if (source === state.source) openStream();
  });
  // The events after our last id were removed by retention: what is on screen may be stale, so reload it.
  source.addEventListener("reset", async () => {
    await loadAgents();
    await Promise.all([loadTasks(), loadWebhooks(), loadReviews()]);
  });
  source.onerror = () => {
    if (source !== state.source) return;
    if (source.readyState === EventSource.CLOSED) {
      // Refused (expired token, server restarting): reopen with a fresh token, resuming after the last id.
      setLive("offline", "Reconnecting…");
      state.reconnectTimer = setTimeout(openStream, RECONNECT_MS);
    } else {
      setLive("connecting", "Reconnecting…");
    }
  };
  // Swap to a fresh token before this one expires; the new stream resumes from the last id.
  const refreshIn = Math.max(5_000, new Date(token.expires_at).getTime() - Date.now() - REFRESH_BEFORE_MS);
  state.tokenTimer = setTimeout(openStream, refreshIn);
}

function closeStream() {
  clearTimeout(state.tokenTimer);
  clearTimeout(state.reconnectTimer);
  state.source?.close();
  state.source = null;
}

function applyEvent(event) {
  if (event.type.startsWith("task.") && event.data?.task) {
    upsertTask(event.data.task);
  } else if (event.type.startsWith("delivery.") || event.type.startsWith("webhook.")) {
    refreshSoon("webhooks", loadWebhooks);
  } else if (event.type.startsWith("review.")) {
    refreshSoon("reviews", loadReviews);
  }
}

/** Coalesces bursts of events into one reload per panel. */
function refreshSoon(name, load) {
  clearTimeout(state.refreshTimers.get(name));
  state.refreshTimers.set(name, setTimeout(() => load().catch(() => {}), 300));
}

// ---------------------------------------------------------------- tasks

async function loadAgents() {
  const { body: teams } = await api("/teams");
  const lists = await Promise.all(teams.map((team) => api(`/teams/${team.id}/agents`).then((r) => r.body)));
  for (const agent of lists.flat()) state.agents.set(agent.id, agent);
}

async function loadTasks() {
  const loaded = [];
  let path = "/tasks?limit=200";
  for (let page = 0; page < 5 && path; page++) {
    const { body, link } = await api(path);
    loaded.push(...body);
    const next = /<([^>]+)>;\s*rel="next"/.exec(link ?? "")?.[1];
    path = next ? new URL(next).pathname.replace(/^\/api\/v1/, "") + new URL(next).search : null;
  }
  for (const task of loaded) upsertTask(task, { quiet: true });
  renderBoard();
}

function upsertTask(task, options = {}) {
  const known = state.tasks.get(task.id);
  // Snapshots can arrive out of order (stream vs. initial load): keep the newest.
  if (known && new Date(known.updated_at) > new Date(task.updated_at)) return;
  state.tasks.set(task.id, task);
  if (options.quiet) return;
  state.flash.add(task.id);
  renderBoard();
}

function renderBoard() {
  const tasks = [...state.tasks.values()];
  const children = new Map();
  for (const task of tasks) {
    if (!task.parent_id) continue;
    const list = children.get(task.parent_id) ?? [];
    list.push(task);
    children.set(task.parent_id, list);
  }
  const board = $("board");
  board.replaceChildren(
    ...STATUSES.map(([status, label]) => {
      const inColumn = tasks.filter((task) => task.status === status).sort((a, b) => b.id - a.id);
      return h(
        "div",
        { class: "column", dataset: { status }, "data-testid": `column-${status}` },
        h("div", { class: "column-head" }, label, h("span", { class: "count" }, inColumn.length)),
        h(
          "div",
          { class: "cards" },
          inColumn.length ? inColumn.map((task) => taskCard(task, children.get(task.id) ?? [])) : h("div", { class: "column-empty" }, "Nothing here"),
        ),
      );
    }),
  );
  state.flash.clear();

  const open = tasks.filter((task) => task.status === "todo" || task.status === "in_progress").length;
  const review = tasks.filter((task) => task.status === "in_review").length;
  const unassigned = tasks.filter((task) => !task.assignee_id && task.status === "todo").length;
  $("task-stats").replaceChildren(
    h("span", { class: "stat" }, h("strong", {}, open), " open"),
    h("span", { class: "stat" }, h("strong", {}, review), " in review"),
    h("span", { class: "stat" }, h("strong", {}, unassigned), " waiting for an agent"),
  );
  const empty = $("board-empty");
  empty.hidden = tasks.length > 0;
  if (!tasks.length) {
    empty.replaceChildren(
      h("strong", {}, "No tasks yet."),
      "Open an issue on a repository whose webhook points here and a task appears on its own, or create one: ",
      h("code", {}, "POST /api/v1/tasks {\"team_id\": …, \"title\": …}"),
    );
  }
}

function taskCard(task, subtasks) {
  const agent = task.assignee_id ? state.agents.get(task.assignee_id) : undefined;
  const assigneeName = task.assignee_id ? (agent?.name ?? "agent") : "Unassigned";
  const github = safeUrl(task.source?.html_url);
  const repoLabel = task.source?.repository && task.source?.number ? `${task.source.repository}#${task.source.number}` : "GitHub";
  const done = subtasks.filter((sub) => sub.status === "done").length;
  return h(
    "article",
    { class: `task${state.flash.has(task.id) ? " flash" : ""}`, dataset: { taskId: task.id }, "data-testid": `task-${task.id}` },
    h(
      "div",
      { class: "task-top" },
      h("span", { class: "task-id" }, `#${task.id}`),
      h("span", { class: `pill priority-${task.priority}` }, task.priority),
      h("span", {}, task.task_type),
      task.parent_id ? h("span", {}, `↳ #${task.parent_id}`) : null,
    ),
    h("div", { class: "task-title" }, task.title),
    subtasks.length
      ? h(
          "div",
          { class: "progress" },
          `${done}/${subtasks.length} sub-tasks done`,
          h("div", { class: "progress-bar" }, h("span", { style: `width: ${Math.round((done / subtasks.length) * 100)}%` })),
        )
      : null,
    task.tags?.length ? h("div", { class: "tags" }, task.tags.slice(0, 4).map((tag) => h("span", { class: "tag" }, tag))) : null,
    h(
      "div",
      { class: "task-meta" },
      h(
        "span",
        { class: "assignee" },
        h("span", { class: `avatar${agent ? "" : " none"}`, "aria-hidden": "true" }, agent ? initials(agent.name) : "?"),
        assigneeName,
      ),
      github ? h("a", { href: github, target: "_blank", rel: "noopener noreferrer" }, repoLabel, " ↗") : null,
    ),
  );
}

function initials(name) {
  return name.replace(/[^a-z0-9]/gi, " ").trim().split(/\s+/).map((part) => part[0]).join("").slice(0, 2).toUpperCase();
}

// ---------------------------------------------------------------- GitHub App

/** The Connect GitHub panel: register the App (manifest flow) and install it; once configured, its installations. */
async function loadGithub() {
  const panel = $("github");
  let app;
  try {
    app = (await api("/github/app")).body;
  } catch (error) {
    panel.replaceChildren(h("p", { class: "muted" }, error.status === 404 ? "GitHub App setup is not available on this server." : `Could not load: ${error.message}`));
    return;
  }
  if (!app.configured) {
    const owner = h("input", { id: "github-owner", type: "text", placeholder: "optional", autocomplete: "off", spellcheck: "false" });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    panel.replaceChildren(
      h("h3", {}, "Connect GitHub"),
      h("p", { class: "muted small" }, "Register Entourage's GitHub App in one click, then install it on your repositories: their issues and pull requests become tasks."),
      h("label", { for: "github-owner" }, "GitHub organization that owns the App"),
      owner,
      error,
      h("button", { type: "button", class: "button primary", onclick: () => registerGithubApp(owner.value.trim(), error) }, "Register GitHub App"),
    );
    return;
  }
  const [installations, teams] = await Promise.all([optionalList("/github/installations"), optionalList("/teams")]);
  const appUrl = safeUrl(app.app?.html_url);
  const name = app.app?.name ?? `App ${app.app?.id ?? ""}`;
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  panel.replaceChildren(
    h("p", {}, appUrl ? h("a", { href: appUrl, target: "_blank", rel: "noopener" }, name) : name, h("span", { class: "muted small" }, ` · ${app.source === "env" ? "from the environment" : "registered here"}`)),
    h("p", { class: "muted small", id: "github-last-delivery" }, `Last App delivery: ${timeAgo(app.last_delivery_at)}`),
    error,
    h("button", { type: "button", class: "button primary", onclick: () => installGithubApp(error) }, "Install on repositories"),
    installations.items.length
      ? h("ul", { class: "installations", id: "github-installations" }, ...installations.items.map((inst) => installationItem(inst, teams.items, error)))
      : h("p", { class: "muted small" }, "No installation linked to your org yet."),
  );
}

function installationItem(inst, teams, error) {
  const select = h(
    "select",
    { "aria-label": `Team for ${inst.account_login}`, onchange: (event) => moveInstallation(inst.id, event.target.value, error) },
    ...teams.map((team) => h("option", { value: team.id, selected: team.id === inst.team_id }, team.name)),
  );
  const repositories = inst.repositories.map((repo) => repo.full_name).join(", ") || (inst.repository_selection === "all" ? "all repositories" : "no repository seen yet");
  return h(
    "li",
    { class: "installation", dataset: { installationId: String(inst.id) } },
    h("strong", {}, inst.account_login),
    inst.suspended ? h("span", { class: "badge" }, "suspended") : null,
    h("div", { class: "muted small" }, repositories),
    h("label", {}, "Team ", select),
  );
}

async function registerGithubApp(owner, error) {
  error.hidden = true;
  try {
    const { body } = await api("/github/app/manifest", { method: "POST", body: owner ? { owner } : {} });
    // GitHub's manifest flow: the browser posts the manifest to GitHub, which comes back to the setup callback.
    const form = h("form", { method: "post", action: body.url }, h("input", { type: "hidden", name: "manifest", value: JSON.stringify(body.manifest) }));
    document.body.append(form);
    form.submit();
  } catch (caught) {
    error.textContent = caught.status === 403 ? "Only the instance org can register the GitHub App." : caught.message;
    error.hidden = false;
  }
}

async function installGithubApp(error) {
  try {
    location.assign((await api("/github/app/install", { method: "POST" })).body.url);
  } catch (caught) {
    error.textContent = caught.message;
    error.hidden = false;
  }
}

async function moveInstallation(id, teamId, error) {
  try {
    await api(`/github/installations/${id}`, { method: "PATCH", body: { team_id: teamId } });
  } catch (caught) {
    error.textContent = caught.message;
    error.hidden = false;
  }
}

// ---------------------------------------------------------------- webhooks and deliveries

async function loadWebhooks() {
  const { items, available } = await optionalList("/webhooks");
  // The list may not carry counts; the detail does (delivery counts by status, last delivery).
  state.webhooks = await Promise.all(
    items.map(async (hook) => (hook.delivery_counts || hook.counts ? hook : ((await api(`/webhooks/${hook.id}`).catch(() => null))?.body ?? hook))),
  );
  if (!state.webhooks.some((hook) => hook.id === state.selectedWebhookId)) state.selectedWebhookId = state.webhooks[0]?.id ?? null;
  renderWebhooks(available);
  await loadDeliveries();
}

function deliveryCounts(hook) {
  return hook.delivery_counts ?? hook.counts ?? {};
}

function lastDeliveryAt(hook) {
  return hook.last_delivery_at ?? hook.last_delivery?.created_at ?? null;
}

function health(hook) {
  if (hook.active === false) return ["inactive", "inactive"];
  const counts = deliveryCounts(hook);
  const lastStatus = hook.last_delivery?.status ?? hook.last_delivery_status;
  if (lastStatus === "failed" || lastStatus === "rejected") return ["failing", "last delivery failed"];
  if ((counts.failed ?? 0) > 0 || (counts.rejected ?? 0) > 0) return ["warning", "some deliveries failed"];
  if (!lastDeliveryAt(hook)) return ["idle", "no deliveries yet"];
  return ["healthy", "healthy"];
}

function renderWebhooks(available) {
  const list = $("webhooks");
  list.replaceChildren(
    ...state.webhooks.map((hook) => {
      const [level, label] = health(hook);
      const counts = deliveryCounts(hook);
      const failed = (counts.failed ?? 0) + (counts.rejected ?? 0);
      return h(
        "li",
        {
          class: `webhook${hook.id === state.selectedWebhookId ? " selected" : ""}`,
          dataset: { webhookId: hook.id },
          tabindex: "0",
          onclick: () => selectWebhook(hook.id),
          onkeydown: (event) => event.key === "Enter" && selectWebhook(hook.id),
        },
        h("div", { class: "webhook-name" }, h("span", { class: `health ${level}`, title: label }), hook.name || `${hook.provider} webhook`),
        h(
          "div",
          { class: "webhook-meta" },
          h("span", {}, hook.provider),
          h("span", {}, `last delivery ${timeAgo(lastDeliveryAt(hook))}`),
          h("span", { class: failed ? "error" : "" }, `${failed} failed`),
        ),
      );
    }),
  );
  const empty = $("webhooks-empty");
  empty.hidden = state.webhooks.length > 0;
  if (!available) {
    empty.replaceChildren(h("strong", {}, "Webhooks are not available on this server yet."), "Tasks and reviews still update live.");
  } else if (!state.webhooks.length) {
    empty.replaceChildren(
      h("strong", {}, "Register a webhook"),
      "Create one, then paste its receive_url and secret into GitHub → Settings → Webhooks:",
      h("pre", {}, 'curl -X POST /api/v1/webhooks -H "X-API-Key: …" \\\n  -d \'{"provider":"github","events":["issues.*","pull_request.*"]}\''),
    );
  }
}

function selectWebhook(id) {
  state.selectedWebhookId = id;
  renderWebhooks(true);
  loadDeliveries().catch(() => {});
}

async function loadDeliveries() {
  const hook = state.webhooks.find((candidate) => candidate.id === state.selectedWebhookId);
  $("deliveries-webhook").textContent = hook ? hook.name || hook.id : "";
  const { items } = hook ? await optionalList(`/webhooks/${hook.id}/deliveries?limit=50`) : { items: [] };
  $("deliveries-body").replaceChildren(
    ...items.map((delivery) =>
      h(
        "tr",
        { dataset: { deliveryId: delivery.id }, title: "Show the payload", onclick: () => showDelivery(hook.id, delivery) },
        h("td", { class: "muted" }, timeAgo(delivery.created_at)),
        h("td", {}, h("code", {}, delivery.event_type ?? "?")),
        h("td", {}, h("span", { class: `pill status-${delivery.status}` }, delivery.status)),
        h("td", {}, describeActions(delivery.actions)),
        h("td", { class: "error" }, delivery.error ?? ""),
      ),
    ),
  );
  $("deliveries").hidden = items.length === 0;
  const empty = $("deliveries-empty");
  empty.hidden = items.length > 0;
  empty.replaceChildren(
    ...(hook
      ? [h("strong", {}, "No deliveries yet."), "Send one from GitHub (Recent Deliveries → Redeliver), or open an issue on the repository. They are sent to ", h("code", {}, hook.receive_url ?? `/api/v1/webhooks/${hook.id}/receive`)]
      : [h("strong", {}, "No webhook selected."), "Deliveries appear here once a webhook is registered."]),
  );
}

function describeActions(actions) {
  if (!Array.isArray(actions) || actions.length === 0) return "—";
  return actions
    .map((action) => (typeof action === "string" ? action : [action.type ?? action.action, action.task_id ? `#${action.task_id}` : ""].filter(Boolean).join(" ")))
    .join(", ");
}

async function showDelivery(webhookId, delivery) {
  const dialog = $("payload-dialog");
  $("payload-title").textContent = `${delivery.event_type ?? "Delivery"} · ${delivery.status}`;
  $("payload-body").textContent = "Loading…";
  dialog.showModal();
  try {
    const { body } = await api(`/webhooks/${webhookId}/deliveries/${delivery.id}`);
    $("payload-body").textContent = JSON.stringify(body, null, 2);
  } catch (error) {
    $("payload-body").textContent = `Could not load the payload: ${error.message}`;
  }
}

// ---------------------------------------------------------------- reviews

async function loadReviews() {
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

// ---------------------------------------------------------------- start

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("payload-close").addEventListener("click", () => $("payload-dialog").close());
setInterval(() => {
  if (state.webhooks.length) renderWebhooks(true); // keeps "last delivery 3 min ago" honest
}, 60_000);

if (state.apiKey) {
  showDashboard().catch(() => signOut("Could not load the dashboard. Sign in again."));
} else {
  signOut();
}
