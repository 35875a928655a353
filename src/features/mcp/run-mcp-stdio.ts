import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { ConfigError } from "../../config.js";
import { createMcpServer } from "./create-mcp-server.js";
import { createEntourageApiClient } from "./entourage-api-client.js";
import { mcpEnvSchema } from "./mcp-env.schema.js";

/**
 * `entourage mcp`: an MCP server on stdin/stdout that acts as one agent and reaches Entourage only
 * through its HTTP API, so it runs wherever the agent runs. stdout carries the protocol: nothing
 * else may write there (diagnostics go to stderr). Resolves when the client closes stdin.
 */
export async function runMcpStdio(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = mcpEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const { ENTOURAGE_API_KEY, ENTOURAGE_AGENT_ID, ENTOURAGE_URL } = parsed.data;
  const api = createEntourageApiClient({ baseUrl: ENTOURAGE_URL, headers: { authorization: `Bearer ${ENTOURAGE_API_KEY}` } });
  const server = createMcpServer({ api, agentId: ENTOURAGE_AGENT_ID });
  const transport = new StdioServerTransport();

  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  await server.connect(transport);
  process.stderr.write(`entourage mcp: serving agent ${ENTOURAGE_AGENT_ID} against ${ENTOURAGE_URL}\n`);
  await closed;
  await server.close();
  return 0;
}
