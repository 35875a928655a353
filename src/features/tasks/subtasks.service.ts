import type { Knex } from "knex";
import { ConflictError, InputError, NotFoundError } from "../../errors.js";
import { appendEvents } from "../events/events.store.js";
import type { SubtaskInput } from "./tasks.schema.js";
import { taskEvent } from "./task-event.js";
import { findTask, findTasksByIds, insertDependencies, insertTask, type Task } from "./tasks.store.js";

interface Detail {
  field: string;
  message: string;
}

/**
 * Splits a task into sub-tasks, all or nothing, inside `trx`:
 * 1. check the `depends_on` indexes (in range, not itself, no cycle) — 400 naming each bad entry;
 * 2. lock the parent (404 when missing, 409 when it is already finished);
 * 3. insert the sub-tasks in list order (consecutive ids), same team as the parent, then their dependency edges;
 * 4. append one `task.created` event per sub-task with its final snapshot.
 * Priority and type default to the parent's; tags and assignee are not inherited.
 */
export async function createSubtasks(trx: Knex.Transaction, orgId: string, parentId: number, items: SubtaskInput[]): Promise<Task[]> {
  const problems = checkDependencyIndexes(items);
  if (problems.length) throw new InputError("Invalid sub-task dependencies", problems, "validation_failed");

  const parent = await findTask(trx, orgId, parentId, { forUpdate: true });
  if (!parent) throw new NotFoundError(`Task #${parentId} not found`);
  if (parent.status === "done" || parent.status === "cancelled") {
    throw new ConflictError(`Task #${parent.id} is ${parent.status}; move it back to todo before splitting it`, { status: parent.status });
  }

  const created: Task[] = [];
  for (const item of items) {
    created.push(
      await insertTask(trx, {
        org_id: orgId,
        team_id: parent.team_id,
        parent_id: parent.id,
        title: item.title,
        description: item.description,
        priority: item.priority ?? parent.priority,
        task_type: item.task_type ?? parent.task_type,
        tags: [],
      }),
    );
  }
  await insertDependencies(
    trx,
    items.flatMap((item, index) =>
      [...new Set(item.depends_on)].map((dep) => ({ task_id: created[index]!.id, depends_on_id: created[dep]!.id })),
    ),
  );
  const subtasks = await findTasksByIds(trx, orgId, created.map((task) => task.id));
  await appendEvents(trx, subtasks.map((task) => taskEvent(task, "task.created", {})));
  return subtasks;
}

/** Every bad `depends_on` entry: out of range or itself; then, when those are fine, the first cycle. */
export function checkDependencyIndexes(items: Pick<SubtaskInput, "depends_on">[]): Detail[] {
  const problems: Detail[] = [];
  items.forEach((item, index) => {
    for (const dep of item.depends_on) {
      if (dep >= items.length) {
        problems.push({ field: `subtasks.${index}.depends_on`, message: `index ${dep} is out of range: the list has ${items.length} sub-task(s), indexes 0-${items.length - 1}` });
      } else if (dep === index) {
        problems.push({ field: `subtasks.${index}.depends_on`, message: "a sub-task cannot depend on itself" });
      }
    }
  });
  if (problems.length) return problems;
  const cycle = findCycle(items.map((item) => item.depends_on));
  if (cycle) {
    problems.push({ field: `subtasks.${cycle[0]}.depends_on`, message: `dependency cycle: ${cycle.join(" → ")}` });
  }
  return problems;
}

/** A cycle as a list of indexes that starts and ends at the same one, or undefined. */
function findCycle(edges: number[][]): number[] | undefined {
  const state = new Array<"new" | "open" | "closed">(edges.length).fill("new");
  const path: number[] = [];
  const visit = (node: number): number[] | undefined => {
    state[node] = "open";
    path.push(node);
    for (const next of edges[node]!) {
      if (state[next] === "open") return [...path.slice(path.indexOf(next)), next];
      if (state[next] === "new") {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state[node] = "closed";
    return undefined;
  };
  for (let node = 0; node < edges.length; node++) {
    if (state[node] === "new") {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}
