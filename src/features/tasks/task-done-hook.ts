import type { Queryable } from "../../db/create-db.js";
import type { Task } from "./tasks.store.js";

/** How the task became done. */
export interface TaskDone {
  /** GitHub closed the task's issue and the task followed: there is nothing to tell GitHub. */
  mirrorsGithubIssue: boolean;
}

/** Runs in the transaction in which a task became done, e.g. to announce it on its GitHub issue. */
export type TaskDoneHook = (trx: Queryable, task: Task, done: TaskDone) => Promise<void>;

let taskDone: TaskDoneHook = async () => {};

/** Wires what a finished task sets off (main.ts: the resolution comment of automation). */
export function setTaskDoneHook(hook: TaskDoneHook): void {
  taskDone = hook;
}

export function runTaskDoneHook(trx: Queryable, task: Task, done: TaskDone): Promise<void> {
  return taskDone(trx, task, done);
}
