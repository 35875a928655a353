import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { registerReviewTools } from "./review-tools.js";
import { registerTaskTools, type ToolDeps } from "./task-tools.js";

export const MCP_SERVER_NAME = "entourage";
export const MCP_SERVER_VERSION = "0.1.0";

/** An MCP server exposing Entourage's task and review tools, acting as one agent. */
export function createMcpServer(deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    {
      instructions:
        `You are Entourage agent ${deps.agentId}. Find work with list_my_tasks and list_pending_reviews, read it with get_task ` +
        "or get_review, then move tasks with update_task_status (in_progress when you start, in_review or done when you finish), " +
        "and address every entry of review_comments_to_address before asking for another review.",
    },
  );
  registerTaskTools(server, deps);
  registerReviewTools(server, deps);
  return server;
}
