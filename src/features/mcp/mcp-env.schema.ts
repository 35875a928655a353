import { z } from "zod";

const blankAsMissing = (value: unknown) => (typeof value === "string" && value.trim() === "" ? undefined : value);

/** The environment of `entourage mcp` (set in the MCP client's config). */
export const mcpEnvSchema = z.object({
  ENTOURAGE_API_KEY: z.preprocess(blankAsMissing, z.string({ error: "is required: an Entourage API key (oc_…) or token" }).trim()),
  ENTOURAGE_AGENT_ID: z.preprocess(
    blankAsMissing,
    z.uuid({ error: "must be the id (a UUID) of the agent this server acts as, as GET /api/v1/teams/{team}/agents lists it" }),
  ),
  ENTOURAGE_URL: z.preprocess(blankAsMissing, z.url({ error: "must be the base URL of the Entourage server, e.g. http://localhost:8000" }).default("http://localhost:8000")),
});
