// Entourage console: plain ES modules, no build step. Data comes from the REST API (X-API-Key);
// live changes from the SSE stream. One module per panel under js/.
import { loadAgents } from "./js/agents.js";
import { api, session } from "./js/api.js";
import { loadTasks, upsertTask } from "./js/board.js";
import { loadDeliveries } from "./js/deliveries.js";
import { $, $button, $field } from "./js/dom.js";
import { loadGithub } from "./js/github.js";
import { createOutboundDialog, loadOutbound } from "./js/outbound.js";
import { loadReviews } from "./js/reviews.js";
import { state } from "./js/state.js";
import { closeStream, openStream } from "./js/stream.js";
import { loadTraffic, stopTraffic } from "./js/traffic.js";
import { createWebhookDialog, loadWebhooks, renderWebhooks } from "./js/webhooks.js";

const VIEWS = { overview: "Overview", webhooks: "Webhooks", outbound: "Outbound endpoints", github: "GitHub" };
const refreshTimers = new Map();

// ---------------------------------------------------------------- session

async function signIn(event) {
  event.preventDefault();
  const key = $field("api-key").value.trim();
  const error = $("sign-in-error");
  error.hidden = true;
  $button("sign-in-button").disabled = true;
  session.apiKey = key;
  try {
    await api("/auth/token", { method: "POST", body: { expires_in: 60 }, signingIn: true });
    session.remember(key);
    $field("api-key").value = "";
    await showDashboard();
  } catch (caught) {
    session.apiKey = "";
    error.textContent = caught.status === 401 ? "That API key was not accepted." : `Could not sign in: ${caught.message}`;
    error.hidden = false;
  } finally {
    $button("sign-in-button").disabled = false;
  }
}

function signOut(message) {
  session.remember("");
  closeStream();
  stopTraffic();
  $("dashboard-view").hidden = true;
  $("session").hidden = true;
  $("views-nav").hidden = true;
  $("sign-in-view").hidden = false;
  const error = $("sign-in-error");
  error.hidden = !message;
  error.textContent = message ?? "";
}
session.onUnauthorized = signOut;

async function showDashboard() {
  $("sign-in-view").hidden = true;
  $("dashboard-view").hidden = false;
  $("session").hidden = false;
  $("views-nav").hidden = false;
  showView();
  // Stream first, then load: whatever changes while loading arrives on the stream.
  await openStream({ event: applyEvent, reset: reloadAll });
  await reloadAll();
}

async function reloadAll() {
  await loadAgents(); // names for cards, reviews and the webhook form
  await Promise.all([loadTasks(), loadWebhooks(), loadReviews(), loadGithub(), loadTraffic(), loadOutbound()]);
}

// ---------------------------------------------------------------- views

/** The view named by the URL's hash (#webhooks); #task-12 shows the overview with that card focused. */
function showView() {
  const hash = location.hash.slice(1);
  const fromGithub = new URLSearchParams(location.search).has("github");
  const name = VIEWS[hash] ? hash : hash.startsWith("task-") ? "overview" : fromGithub ? "github" : "overview";
  for (const view of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-view]"))) view.hidden = view.dataset.view !== name;
  for (const link of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-view-link]"))) {
    if (link.dataset.viewLink === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("view-title").textContent = VIEWS[name];
  document.title = `${VIEWS[name]} · Entourage`;
  if (hash.startsWith("task-")) document.getElementById(hash)?.focus();
}

// ---------------------------------------------------------------- live

function applyEvent(event) {
  const type = event.type;
  if (type.startsWith("task.") && event.data?.task) {
    upsertTask(event.data.task);
    refreshSoon("outbound", loadOutbound, 1500); // task events are what endpoints are sent
  } else if (type.startsWith("delivery.")) {
    refreshSoon("webhooks", loadWebhooks);
    refreshSoon("traffic", loadTraffic);
  } else if (type.startsWith("webhook.")) {
    refreshSoon("webhooks", loadWebhooks);
  } else if (type.startsWith("outbound_webhook.")) {
    refreshSoon("outbound", loadOutbound);
  } else if (type.startsWith("review.")) {
    refreshSoon("reviews", loadReviews);
    refreshSoon("outbound", loadOutbound, 1500);
  } else if (type.startsWith("agent.")) {
    refreshSoon("agents", loadAgents);
  }
}

/**
 * Coalesces bursts of events into one reload per panel: the first event schedules it, later ones
 * ride along. (Restarting the timer on each event would starve a panel under steady traffic.)
 */
function refreshSoon(name, load, delay = 200) {
  if (refreshTimers.has(name)) return;
  refreshTimers.set(
    name,
    setTimeout(() => {
      refreshTimers.delete(name);
      load().catch(() => {});
    }, delay),
  );
}

// ---------------------------------------------------------------- start

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("new-webhook").addEventListener("click", createWebhookDialog);
$("new-outbound").addEventListener("click", createOutboundDialog);
$("delivery-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadDeliveries().catch(() => {});
});
$("filter-status").addEventListener("change", () => loadDeliveries().catch(() => {}));
window.addEventListener("hashchange", showView);
setInterval(() => {
  if (!session.apiKey) return;
  if (state.webhooks.length) renderWebhooks(); // keeps "last delivery 3 min ago" honest
}, 30_000);

if (session.apiKey) {
  showDashboard().catch(() => signOut("Could not load the dashboard. Sign in again."));
} else {
  signOut();
}
