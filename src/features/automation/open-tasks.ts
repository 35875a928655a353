import type { Knex } from "knex";
import { assignToAvailableEngineer } from "../tasks/task-assignment.js";
import { createTasks } from "../tasks/tasks.service.js";
import type { NewTask, Task } from "../tasks/tasks.store.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";

/** The action recorded when auto_assign finds no engineer free: the task waits for one. */
export const NO_ENGINEER_FREE = "no engineer available: waiting for one";

/** A task a delivery makes, and whether its webhook hands new tasks to free engineers (auto_assign). */
export interface TaskToOpen {
  input: DeliveryInput;
  task: Omit<NewTask, "parent_id" | "assignee_id">;
  autoAssign: boolean;
}

/** Hands a new task to a free engineer of its team; the action says to whom, or that it waits for one. */
export async function handOutNewTask(trx: Knex.Transaction, task: Task): Promise<{ assigned: boolean; action: string }> {
  const { agent } = await assignToAvailableEngineer(trx, task);
  return agent ? { assigned: true, action: `assigned to ${agent.name}` } : { assigned: false, action: NO_ENGINEER_FREE };
}

/**
 * The tasks of many deliveries at once (one INSERT, one events append), in the order given; where
 * the webhook says auto_assign, each is handed to a free engineer of its team, until the team has
 * none free and the rest wait. Sets each delivery's outcome.
 */
export async function openTasks(trx: Knex.Transaction, opens: TaskToOpen[], outcomes: Map<DeliveryInput, DeliveryOutcome>): Promise<void> {
  if (opens.length === 0) return;
  const tasks = await createTasks(
    trx,
    opens.map((open) => open.task),
  );
  const noneFree = new Set<string>();
  for (const [i, task] of tasks.entries()) {
    const { input, autoAssign } = opens[i]!;
    const actions = [`created task #${task.id}`];
    if (autoAssign) {
      // Nothing frees an engineer inside this step: once a team has none, the rest wait too.
      const handed = noneFree.has(task.team_id) ? { assigned: false, action: NO_ENGINEER_FREE } : await handOutNewTask(trx, task);
      if (!handed.assigned) noneFree.add(task.team_id);
      actions.push(handed.action);
    }
    outcomes.set(input, { actions });
  }
}
