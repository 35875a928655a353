import type { Knex } from "knex";
import { appendEvents } from "../events/events.store.js";
import { createApiKey } from "../auth/api-keys.service.js";
import { insertAgent, insertOrg, insertTeam } from "../teams/teams.store.js";
import { claimInstanceOrg } from "./instance-org.js";

export interface BootstrapInput {
  orgName: string;
  teamName: string;
  engineers: number;
}

export interface BootstrapResult {
  org_id: string;
  team_id: string;
  api_key: string;
  agents: { id: string; name: string; role: string }[];
}

/** Creates an org (the instance org, when it is the first) with one team, `engineers` engineer agents (eng-1, eng-2, …) and an admin API key. */
export async function bootstrapOrg(knex: Knex, input: BootstrapInput): Promise<BootstrapResult> {
  return knex.transaction(async (trx) => {
    const org = await insertOrg(trx, input.orgName);
    // The first org ever created administers the instance (GitHub App, installation links).
    await claimInstanceOrg(trx, org.id);
    const team = await insertTeam(trx, { org_id: org.id, name: input.teamName });
    const agents = [];
    for (let i = 1; i <= input.engineers; i++) {
      agents.push(await insertAgent(trx, { org_id: org.id, team_id: team.id, name: `eng-${i}`, role: "engineer", status: "available" }));
    }
    const key = await createApiKey(trx, org.id, "admin");
    await appendEvents(trx, [{ org_id: org.id, team_id: team.id, type: "org.bootstrapped", data: { team_id: team.id, agents: agents.length } }]);
    return {
      org_id: org.id,
      team_id: team.id,
      api_key: key.key,
      agents: agents.map(({ id, name, role }) => ({ id, name, role })),
    };
  });
}
