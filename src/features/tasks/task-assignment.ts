import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";
import { takeAvailableAgent } from "../teams/agent-pool.js";
import { hasAvailableAgent, type Agent } from "../teams/teams.store.js";
import { taskEvent } from "./task-event.js";
import { findTask, lockNextWaitingTask, updateTask, type Task } from "./tasks.store.js";

/** Gives a task to the first available engineer; undefined (the task waits) when none is free. */
export async function assignToAvailableEngineer(db: Queryable, task: Task): Promise<{ task: Task; agent?: Agent }> {
  const agent = await takeAvailableAgent(db, task.team_id, [{ role: "engineer" }]);
  if (!agent) return { task };
  const updated = await updateTask(db, task.org_id, task.id, { assignee_id: agent.id });
  await appendEvents(db, [taskEvent(updated, "task.assigned", { assignee_id: agent.id, assignee_name: agent.name, auto: true })]);
  return { task: updated, agent };
}

/**
 * Assigns the team's waiting auto-assign tasks, highest priority first then oldest, while engineers
 * are available; a task is locked only when an engineer is free to take it.
 */
export async function assignWaitingTasks(db: Queryable, teamId: string): Promise<Task[]> {
  const assigned: Task[] = [];
  for (;;) {
    if (!(await hasAvailableAgent(db, teamId, ["engineer"]))) return assigned;
    const waiting = await lockNextWaitingTask(db, teamId);
    if (!waiting) return assigned;
    const task = (await findTask(db, waiting.org_id, waiting.id))!;
    const { agent, task: updated } = await assignToAvailableEngineer(db, task);
    if (!agent) return assigned;
    assigned.push(updated);
  }
}
