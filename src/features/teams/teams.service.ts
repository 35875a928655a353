import type { Knex } from "knex";
import { isUniqueViolation } from "../../db/is-unique-violation.js";
import { ConflictError, NotFoundError } from "../../errors.js";
import { appendEvents } from "../events/events.store.js";
import { offerWaitingWork, setAgentStatus } from "./agent-pool.js";
import type { AgentRole, AgentStatus } from "./teams.schema.js";
import {
  findAgent,
  findTeam,
  insertAgent,
  insertTeam,
  listAgents,
  updateAgent,
  type Agent,
  type Team,
} from "./teams.store.js";

export async function createTeam(knex: Knex, orgId: string, name: string): Promise<Team> {
  try {
    return await insertTeam(knex, { org_id: orgId, name });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`A team named "${name}" already exists`);
    throw error;
  }
}

export async function getTeam(knex: Knex, orgId: string, teamId: string): Promise<Team> {
  const team = await findTeam(knex, orgId, teamId);
  if (!team) throw new NotFoundError(`Team ${teamId} not found`);
  return team;
}

export async function listTeamAgents(knex: Knex, orgId: string, teamId: string): Promise<Agent[]> {
  await getTeam(knex, orgId, teamId);
  return listAgents(knex, orgId, teamId);
}

export async function addAgent(
  knex: Knex,
  orgId: string,
  teamId: string,
  agent: { name: string; role: AgentRole; status: AgentStatus },
): Promise<Agent> {
  await getTeam(knex, orgId, teamId);
  try {
    return await knex.transaction(async (trx) => {
      const created = await insertAgent(trx, { org_id: orgId, team_id: teamId, ...agent });
      await appendEvents(trx, [{ org_id: orgId, team_id: teamId, type: "agent.created", data: { agent: created } }]);
      // A newcomer who is available takes waiting work (reviews, auto-assign tasks) at once.
      if (created.status === "available") await offerWaitingWork(trx, teamId);
      return (await findAgent(trx, orgId, created.id)) ?? created;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`The team already has an agent named "${agent.name}"`);
    throw error;
  }
}

export async function changeAgent(
  knex: Knex,
  orgId: string,
  agentId: string,
  changes: { status?: AgentStatus; name?: string },
): Promise<Agent> {
  return knex.transaction(async (trx) => {
    const before = await findAgent(trx, orgId, agentId);
    if (!before) throw new NotFoundError(`Agent ${agentId} not found`);
    const renamed = changes.name !== undefined ? (await updateAgent(trx, orgId, agentId, { name: changes.name }))! : before;
    if (!changes.status || changes.status === before.status) return renamed;
    await setAgentStatus(trx, renamed, changes.status, "set through the API");
    if (changes.status === "available") await offerWaitingWork(trx, renamed.team_id);
    return (await findAgent(trx, orgId, agentId))!;
  });
}
