// The REST API (X-API-Key from the session); a 401 signs the tab out.

const KEY_STORAGE = "entourage.apiKey";

export const session = {
  apiKey: sessionStorage.getItem(KEY_STORAGE) ?? "",
  /** @param {string} _message */
  onUnauthorized: (_message) => {},
  remember(key) {
    this.apiKey = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  },
};

export class HttpError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

export async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    method: options.method ?? "GET",
    headers: { "X-API-Key": session.apiKey, ...(options.body ? { "Content-Type": "application/json" } : {}) },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    if (response.status === 401 && !options.signingIn) session.onUnauthorized("Your API key was refused. Sign in again.");
    const details = body?.error?.details;
    const detail = Array.isArray(details) && details.length ? `: ${details.map((d) => `${d.field} ${d.message}`).join("; ")}` : "";
    throw new HttpError(response.status, `${body?.error?.message ?? `HTTP ${response.status}`}${detail}`, details);
  }
  return { body, link: response.headers.get("Link") };
}

/** A list endpoint, or [] when the server does not have it (404). */
export async function optionalList(path) {
  try {
    return { items: (await api(path)).body ?? [], available: true };
  } catch (error) {
    if (error.status === 404) return { items: [], available: false };
    throw error;
  }
}

/** The path of a Link rel="next" header, below /api/v1. */
export function nextPath(link) {
  const next = /<([^>]+)>;\s*rel="next"/.exec(link ?? "")?.[1];
  return next ? new URL(next).pathname.replace(/^\/api\/v1/, "") + new URL(next).search : null;
}
