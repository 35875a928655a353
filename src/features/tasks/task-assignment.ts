import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";
import { handOutWaitingReviews } from "../reviews/review-assignment.js";
import type { Agent } from "../teams/teams.store.js";
import { taskEvent } from "./task-event.js";
import { findTask, updateTask, type Task } from "./tasks.store.js";

const AGENT_COLUMNS = ["id", "org_id", "team_id", "name", "role", "status", "created_at", "updated_at"] as const;
const OPEN_STATUSES = ["todo", "in_progress", "in_review"];

/**
 * Takes the team's first available agent of a role (stable order: oldest first) and marks it busy.
 * SKIP LOCKED: two transactions handing out at the same moment never take the same agent.
 */
export async function takeAvailableAgent(
  db: Queryable,
  teamId: string,
  role: Agent["role"],
  options: { excludeId?: string | null; excludeIds?: string[] } = {},
): Promise<Agent | undefined> {
  const q = db("agents")
    .select(AGENT_COLUMNS)
    .where({ team_id: teamId, role, status: "available" })
    .orderBy([{ column: "created_at" }, { column: "id" }])
    .first()
    .forUpdate()
    .skipLocked();
  if (options.excludeId) q.whereNot("id", options.excludeId);
  if (options.excludeIds?.length) q.whereNotIn("id", options.excludeIds);
  const agent = (await q) as Agent | undefined;
  if (!agent) return undefined;
  await setAgentStatus(db, agent, "busy", "assigned work");
  return { ...agent, status: "busy" };
}

/** Gives a task to the first available engineer; undefined (the task waits) when none is free. */
export async function assignToAvailableEngineer(db: Queryable, task: Task): Promise<{ task: Task; agent?: Agent }> {
  const agent = await takeAvailableAgent(db, task.team_id, "engineer");
  if (!agent) return { task };
  const updated = await updateTask(db, task.org_id, task.id, { assignee_id: agent.id });
  await appendEvents(db, [taskEvent(updated, "task.assigned", { assignee_id: agent.id, assignee_name: agent.name, auto: true })]);
  return { task: updated, agent };
}

/** An agent given an open task by hand is busy too, so hand-outs skip it. */
export async function occupyAgent(db: Queryable, agentId: string): Promise<void> {
  const agent = (await db("agents").select(AGENT_COLUMNS).where({ id: agentId }).forUpdate().first()) as Agent | undefined;
  if (agent?.status === "available") await setAgentStatus(db, agent, "busy", "assigned work");
}

/**
 * When an agent's task is finished: if it holds no other open task it is available again, and
 * the team's waiting auto-assign tasks are handed out — highest priority first, then oldest.
 */
export async function releaseAgent(db: Queryable, agentId: string): Promise<void> {
  const agent = (await db("agents").select(AGENT_COLUMNS).where({ id: agentId }).forUpdate().first()) as Agent | undefined;
  if (!agent || agent.status !== "busy") return;
  const open = await db("tasks").where({ assignee_id: agentId }).whereIn("status", OPEN_STATUSES).first("id");
  if (open) return;
  await setAgentStatus(db, agent, "available", "its work is done");
  await handOutWaitingTasks(db, agent.team_id);
}

/**
 * Serves what waits for a free agent of a team: first pending reviews (finished work waiting
 * to merge), then auto-assign tasks while engineers are available.
 */
export async function handOutWaitingTasks(db: Queryable, teamId: string): Promise<Task[]> {
  await handOutWaitingReviews(db, teamId);
  const assigned: Task[] = [];
  for (;;) {
    const waiting = (await db("tasks")
      .select("id", "org_id")
      .where({ team_id: teamId, status: "todo" })
      .whereNull("assignee_id")
      .whereRaw("source->>'auto_assign' = 'true'")
      .orderByRaw("array_position(ARRAY['critical','high','medium','low']::text[], priority), created_at, id")
      .first()
      .forUpdate()
      .skipLocked()) as { id: number; org_id: string } | undefined;
    if (!waiting) return assigned;
    const task = (await findTask(db, waiting.org_id, waiting.id))!;
    const { agent, task: updated } = await assignToAvailableEngineer(db, task);
    if (!agent) return assigned;
    assigned.push(updated);
  }
}

async function setAgentStatus(db: Queryable, agent: Agent, status: Agent["status"], reason: string): Promise<void> {
  await db("agents").where({ id: agent.id }).update({ status, updated_at: db.fn.now() });
  await appendEvents(db, [
    { org_id: agent.org_id, team_id: agent.team_id, type: "agent.status_changed", data: { agent_id: agent.id, name: agent.name, from: agent.status, to: status, reason } },
  ]);
}

/** Statuses in which a task still occupies its assignee. */
export function isOpenStatus(status: Task["status"]): boolean {
  return OPEN_STATUSES.includes(status);
}
