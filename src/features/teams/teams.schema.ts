import { z } from "zod";
import { timestamp } from "../../http/api-output.js";

export const AGENT_ROLES = ["engineer", "reviewer", "manager"] as const;
export const AGENT_STATUSES = ["available", "busy", "offline"] as const;

export const createTeamBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
});

export const createAgentBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  role: z.enum(AGENT_ROLES),
  status: z.enum(AGENT_STATUSES).default("available"),
});

export const updateAgentBody = z
  .strictObject({
    status: z.enum(AGENT_STATUSES).optional(),
    name: z.string().trim().min(1).max(200).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "nothing to update: send status or name");

export type AgentRole = (typeof AGENT_ROLES)[number];
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const teamOutput = z.strictObject({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  created_at: timestamp,
});
export type Team = z.output<typeof teamOutput>;

export const agentOutput = z.strictObject({
  id: z.uuid(),
  org_id: z.uuid(),
  team_id: z.uuid(),
  name: z.string(),
  role: z.enum(AGENT_ROLES),
  status: z.enum(AGENT_STATUSES),
  created_at: timestamp,
  updated_at: timestamp,
});
export type Agent = z.output<typeof agentOutput>;
