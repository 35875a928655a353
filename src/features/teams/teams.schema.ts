import { z } from "zod";

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
