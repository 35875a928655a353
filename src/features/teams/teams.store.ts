import type { Queryable } from "../../db/create-db.js";
import type { AgentRole, AgentStatus } from "./teams.schema.js";

export interface Org {
  id: string;
  name: string;
  created_at: Date;
}

import { agentOutput, teamOutput, type Agent, type Team } from "./teams.schema.js";

export type { Agent, Team };

const ORG_COLUMNS = ["id", "name", "created_at"] as const;
const TEAM_COLUMNS = Object.keys(teamOutput.shape);
const AGENT_COLUMNS = Object.keys(agentOutput.shape);

export async function insertOrg(db: Queryable, name: string): Promise<Org> {
  const [row] = await db("orgs").insert({ name }).returning(ORG_COLUMNS);
  return row as Org;
}

export async function findOrg(db: Queryable, id: string): Promise<Org | undefined> {
  return db("orgs").select(ORG_COLUMNS).where({ id }).first();
}

export async function countOrgs(db: Queryable): Promise<number> {
  const row = (await db("orgs").count({ n: "*" }).first()) as { n: number };
  return row.n;
}

export async function insertTeam(db: Queryable, team: { org_id: string; name: string }): Promise<Team> {
  const [row] = await db("teams").insert(team).returning(TEAM_COLUMNS);
  return row as Team;
}

export async function listTeams(db: Queryable, orgId: string): Promise<Team[]> {
  return db("teams").select(TEAM_COLUMNS).where({ org_id: orgId }).orderBy("created_at", "asc").orderBy("id");
}

export async function findTeam(db: Queryable, orgId: string, id: string): Promise<Team | undefined> {
  return db("teams").select(TEAM_COLUMNS).where({ org_id: orgId, id }).first();
}

/** The teams among `ids`, whichever org they belong to. */
export async function findTeamsByIds(db: Queryable, ids: string[]): Promise<Team[]> {
  if (ids.length === 0) return [];
  return db("teams").select(TEAM_COLUMNS).whereIn("id", ids);
}

export async function insertAgent(
  db: Queryable,
  agent: { org_id: string; team_id: string; name: string; role: AgentRole; status: AgentStatus },
): Promise<Agent> {
  const [row] = await db("agents").insert(agent).returning(AGENT_COLUMNS);
  return row as Agent;
}

export async function listAgents(db: Queryable, orgId: string, teamId: string): Promise<Agent[]> {
  return db("agents").select(AGENT_COLUMNS).where({ org_id: orgId, team_id: teamId }).orderBy("created_at").orderBy("id");
}

export async function findAgent(db: Queryable, orgId: string, id: string): Promise<Agent | undefined> {
  return db("agents").select(AGENT_COLUMNS).where({ org_id: orgId, id }).first();
}

export async function updateAgent(
  db: Queryable,
  orgId: string,
  id: string,
  changes: { status?: AgentStatus; name?: string },
): Promise<Agent | undefined> {
  const [row] = await db("agents")
    .where({ org_id: orgId, id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning(AGENT_COLUMNS);
  return row as Agent | undefined;
}

/** Who may take a piece of work: agents of a role, but not those in `excludeIds`. */
export interface AgentChoice {
  role: AgentRole;
  excludeIds?: string[];
}

/**
 * Locks the team's first available agent of the first choice that has one (within a choice, oldest
 * first), in one read; SKIP LOCKED, so two hand-outs never take the same one.
 */
export async function lockAvailableAgent(db: Queryable, teamId: string, choices: AgentChoice[]): Promise<Agent | undefined> {
  const q = db("agents")
    .select(AGENT_COLUMNS)
    .where({ team_id: teamId, status: "available" })
    .where((any) => {
      for (const { role, excludeIds = [] } of choices) {
        any.orWhere((choice) => {
          choice.where("role", role);
          if (excludeIds.length) choice.whereNotIn("id", excludeIds);
        });
      }
    })
    .orderByRaw("array_position(?::text[], role::text), created_at, id", [choices.map((choice) => choice.role)])
    .first()
    .forUpdate()
    .skipLocked();
  return (await q) as Agent | undefined;
}

/**
 * Whether any agent of the team in one of `roles` is available, without locking it: a hand-out asks
 * first, so that a team whose agents are all busy locks none of its waiting work.
 */
export async function hasAvailableAgent(db: Queryable, teamId: string, roles: AgentRole[]): Promise<boolean> {
  return Boolean(await db("agents").where({ team_id: teamId, status: "available" }).whereIn("role", roles).first("id"));
}

/** An agent by id (any org), locked for the transaction. */
export async function lockAgent(db: Queryable, id: string): Promise<Agent | undefined> {
  return (await db("agents").select(AGENT_COLUMNS).where({ id }).forUpdate().first()) as Agent | undefined;
}
