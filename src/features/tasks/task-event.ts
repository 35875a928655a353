import type { DomainEventInput } from "../events/events.store.js";
import type { Task } from "./tasks.store.js";

/** A domain event about a task, carrying its snapshot for subscribers. */
export function taskEvent(task: Task, type: string, data: Record<string, unknown>): DomainEventInput {
  return { org_id: task.org_id, team_id: task.team_id, type, data: { task_id: task.id, ...data, task } };
}
