import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";
import { holdsOpenTask } from "../tasks/tasks.store.js";
import { lockAgent, lockAvailableAgent, updateAgent, type Agent, type AgentChoice } from "./teams.store.js";

/** Hands a team's waiting work to its free agents; set once at start-up (it lives above tasks and reviews). */
export type WaitingWorkHook = (db: Queryable, teamId: string) => Promise<void>;

let handOutWaitingWork: WaitingWorkHook = async () => {};

/** Wires what runs when an agent of a team becomes available (main.ts: reviews first, then tasks). */
export function setWaitingWorkHook(hook: WaitingWorkHook): void {
  handOutWaitingWork = hook;
}

/** An agent of the team became available (freed, created, or set so by hand): it takes waiting work. */
export async function offerWaitingWork(db: Queryable, teamId: string): Promise<void> {
  await handOutWaitingWork(db, teamId);
}

/**
 * Takes the team's first available agent of the first choice that has one (oldest first within a
 * choice) and marks it busy.
 */
export async function takeAvailableAgent(db: Queryable, teamId: string, choices: AgentChoice[]): Promise<Agent | undefined> {
  const agent = await lockAvailableAgent(db, teamId, choices);
  if (!agent) return undefined;
  await setAgentStatus(db, agent, "busy", "assigned work");
  return { ...agent, status: "busy" };
}

/** An agent given an open task by hand is busy too, so hand-outs skip it. */
export async function occupyAgent(db: Queryable, agentId: string): Promise<void> {
  const agent = await lockAgent(db, agentId);
  if (agent?.status === "available") await setAgentStatus(db, agent, "busy", "assigned work");
}

/** When an agent's task is finished or taken away: if it holds no other open task it is available again and takes waiting work. */
export async function releaseAgent(db: Queryable, agentId: string): Promise<void> {
  const agent = await lockAgent(db, agentId);
  if (!agent || agent.status !== "busy") return;
  if (await holdsOpenTask(db, agentId)) return;
  await setAgentStatus(db, agent, "available", "its work is done");
  await offerWaitingWork(db, agent.team_id);
}

/** The one way an agent's status changes: the row and its `agent.status_changed` event (with why). */
export async function setAgentStatus(db: Queryable, agent: Agent, status: Agent["status"], reason: string): Promise<void> {
  await updateAgent(db, agent.org_id, agent.id, { status });
  await appendEvents(db, [
    { org_id: agent.org_id, team_id: agent.team_id, type: "agent.status_changed", data: { agent_id: agent.id, name: agent.name, from: agent.status, to: status, reason } },
  ]);
}
