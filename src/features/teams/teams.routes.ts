import { Router } from "express";
import type { AppContext } from "../../app-context.js";
import { parseInput, uuidParam } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { createAgentBody, createTeamBody, updateAgentBody } from "./teams.schema.js";
import { addAgent, changeAgent, createTeam, listTeamAgents } from "./teams.service.js";
import { listTeams } from "./teams.store.js";

export function createTeamsRouter(ctx: AppContext): Router {
  const router = Router();

  router.get("/teams", async (req, res) => {
    res.json(await listTeams(ctx.knex, requestAuth(req).orgId));
  });

  router.post("/teams", async (req, res) => {
    const body = parseInput(createTeamBody, req.body);
    res.status(201).json(await createTeam(ctx.knex, requestAuth(req).orgId, body.name));
  });

  router.get("/teams/:id/agents", async (req, res) => {
    res.json(await listTeamAgents(ctx.knex, requestAuth(req).orgId, uuidParam(req.params.id, "Team")));
  });

  router.post("/teams/:id/agents", async (req, res) => {
    const teamId = uuidParam(req.params.id, "Team");
    const body = parseInput(createAgentBody, req.body);
    res.status(201).json(await addAgent(ctx.knex, requestAuth(req).orgId, teamId, body));
  });

  router.patch("/agents/:id", async (req, res) => {
    const agentId = uuidParam(req.params.id, "Agent");
    const body = parseInput(updateAgentBody, req.body);
    res.json(await changeAgent(ctx.knex, requestAuth(req).orgId, agentId, body));
  });

  return router;
}
