// What the console holds in memory; panels read it and re-render.
export const state = {
  tasks: new Map(),
  agents: new Map(),
  teams: [],
  webhooks: [],
  selectedWebhookId: null,
  flash: new Set(),
};

const listeners = new Map();

/** Panels subscribe to named changes ("tasks", "agents"); emit re-renders them. */
export function on(name, listener) {
  listeners.set(name, [...(listeners.get(name) ?? []), listener]);
}

export function emit(name) {
  for (const listener of listeners.get(name) ?? []) listener();
}
