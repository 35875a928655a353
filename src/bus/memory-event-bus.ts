import { EventEmitter } from "node:events";
import type { BusEvent, BusListener, EventBus } from "./event-bus.js";

/** In-process fan-out: the embedded default, and what a single instance needs. */
export function createMemoryEventBus(): EventBus {
  const emitter = new EventEmitter();
  // One listener per open SSE stream: many streams on one org are normal, not a leak.
  emitter.setMaxListeners(0);
  return {
    kind: "memory",
    shared: false,
    async publish(events: readonly BusEvent[]) {
      for (const event of events) emitter.emit(event.org_id, event);
    },
    subscribe(orgId: string, listener: BusListener) {
      const handler = (event: BusEvent) => listener.onEvent(event);
      emitter.on(orgId, handler);
      return () => void emitter.off(orgId, handler);
    },
    async check() {},
    async close() {
      emitter.removeAllListeners();
    },
  };
}
