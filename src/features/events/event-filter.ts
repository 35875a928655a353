import type { BusEvent } from "../../bus/event-bus.js";
import { matchesEventType } from "../../lib/event-type-pattern.js";

export interface EventFilter {
  /** Exact types or prefixes ending in `*` (`task.*`); empty or `*` means all. */
  types: string[];
  team_id?: string;
}

/** Whether a live event passes the same filter the table replay applies in SQL. */
export function matchesEventFilter(filter: EventFilter, event: Pick<BusEvent, "type" | "team_id">): boolean {
  if (filter.team_id && event.team_id !== filter.team_id) return false;
  if (filter.types.length === 0) return true;
  return matchesEventType(filter.types, event.type);
}
