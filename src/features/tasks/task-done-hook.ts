import type { Queryable } from "../../db/create-db.js";
import type { Task } from "./tasks.store.js";

/** A task that became done, and how. */
export interface TaskDone {
  task: Task;
  /** GitHub closed the task's issue and the task followed: there is nothing to tell GitHub. */
  mirrorsGithubIssue: boolean;
}

/** Runs in the transaction in which tasks became done (one call for all of a status change's), e.g. to announce them on their GitHub issues. */
export type TaskDoneHook = (trx: Queryable, done: TaskDone[]) => Promise<void>;

let taskDone: TaskDoneHook = async () => {};

/** Wires what a finished task sets off (main.ts: the resolution comment of automation). */
export function setTaskDoneHook(hook: TaskDoneHook): void {
  taskDone = hook;
}

export async function runTaskDoneHook(trx: Queryable, done: TaskDone[]): Promise<void> {
  if (done.length) await taskDone(trx, done);
}
