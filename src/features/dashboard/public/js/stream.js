// Live changes: the SSE stream /api/v1/events, opened with a short-lived JWT (EventSource cannot send headers).
import { api } from "./api.js";
import { $, safeJson } from "./dom.js";

const TOKEN_SECONDS = 15 * 60;
const REFRESH_BEFORE_MS = 60_000;
const RECONNECT_MS = 2_000;
const TYPES = "task.*,delivery.*,review.*,webhook.*,outbound_webhook.*,agent.*";

const stream = { source: null, lastEventId: null, tokenTimer: null, reconnectTimer: null, handlers: null };

function setLive(name, label) {
  const el = $("live-status");
  el.dataset.state = name;
  el.textContent = label;
}

/** Opens (or reopens) the stream; `handlers.event(event)` for each event, `handlers.reset()` when history was pruned. */
export async function openStream(handlers = stream.handlers) {
  stream.handlers = handlers;
  closeStream();
  let token;
  try {
    token = (await api("/auth/token", { method: "POST", body: { expires_in: TOKEN_SECONDS } })).body;
  } catch (error) {
    if (error.status === 401) return;
    setLive("offline", "Offline");
    stream.reconnectTimer = setTimeout(openStream, RECONNECT_MS * 2);
    return;
  }
  const params = new URLSearchParams({ access_token: token.token, types: TYPES });
  if (stream.lastEventId !== null) params.set("last_event_id", String(stream.lastEventId));
  const source = new EventSource(`/api/v1/events?${params}`);
  stream.source = source;
  source.onopen = () => setLive("live", "Live");
  source.onmessage = (message) => {
    stream.lastEventId = Number(message.lastEventId) || stream.lastEventId;
    const event = safeJson(message.data);
    if (event) handlers.event(event);
  };
  // The server ends the stream when its token expires: reopen at once with a fresh one, resuming after the last id.
  source.addEventListener("token_expired", () => {
    if (source === stream.source) openStream();
  });
  // The events after our last id were removed by retention: what is on screen may be stale, so reload it.
  source.addEventListener("reset", () => handlers.reset());
  source.onerror = () => {
    if (source !== stream.source) return;
    if (source.readyState === EventSource.CLOSED) {
      setLive("offline", "Reconnecting…");
      stream.reconnectTimer = setTimeout(openStream, RECONNECT_MS);
    } else {
      setLive("connecting", "Reconnecting…");
    }
  };
  // Swap to a fresh token before this one expires; the new stream resumes from the last id.
  const refreshIn = Math.max(5_000, new Date(token.expires_at).getTime() - Date.now() - REFRESH_BEFORE_MS);
  stream.tokenTimer = setTimeout(openStream, refreshIn);
}

export function closeStream() {
  clearTimeout(stream.tokenTimer);
  clearTimeout(stream.reconnectTimer);
  stream.source?.close();
  stream.source = null;
}
