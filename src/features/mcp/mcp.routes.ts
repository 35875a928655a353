import type { IncomingMessage } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import express, { Router, type Request } from "express";
import type { AppContext } from "../../app-context.js";
import { InputError } from "../../errors.js";
import { createAuthMiddleware } from "../../http/auth-middleware.js";
import { refuseDeepJson } from "../../http/json-depth.js";
import { createMcpServer } from "./create-mcp-server.js";
import { createEntourageApiClient } from "./entourage-api-client.js";

export const MCP_AGENT_HEADER = "x-entourage-agent";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /mcp`: the same MCP tools over Streamable HTTP, for remote agents. Stateless (a fresh server
 * per request, no session id), so any instance behind a load balancer can answer. Auth is the API's
 * (X-API-Key or Authorization: Bearer); the agent comes from `X-Entourage-Agent` or `?agent_id=`.
 *
 * The tools call this server's own REST API over loopback with the caller's credentials, exactly as
 * `entourage mcp` does from afar: one implementation of every tool, the API's validation, org scoping
 * and error messages unchanged, and the review tools reach the Reviews API without another adapter.
 * The cost is one loopback HTTP hop per tool call.
 */
export function createMcpRouter(ctx: AppContext): Router {
  const router = Router();
  router.use("/mcp", express.json({ limit: "1mb" }), refuseDeepJson, createAuthMiddleware({ knex: ctx.knex, jwtSecret: ctx.secrets.jwtSecret }));

  router.post("/mcp", async (req, res) => {
    const agentId = requestAgent(req);
    const api = createEntourageApiClient({ baseUrl: ownBaseUrl(req), headers: forwardedCredentials(req) });
    const server = createMcpServer({ api, agentId });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    // Our req.auth is Entourage's AuthContext, not the SDK's AuthInfo; the tools do not read it.
    await transport.handleRequest(req as unknown as IncomingMessage, res, req.body);
  });

  // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
  router.all("/mcp", (_req, res) => {
    res.setHeader("Allow", "POST");
    res.status(405).json({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless, use POST" }, id: null });
  });

  return router;
}

function requestAgent(req: Request): string {
  const header = req.headers[MCP_AGENT_HEADER];
  const value = (Array.isArray(header) ? header[0] : header) ?? (typeof req.query.agent_id === "string" ? req.query.agent_id : undefined);
  if (!value || !UUID.test(value)) {
    throw new InputError(
      "Say which agent this MCP session acts as: send its id in the X-Entourage-Agent header or the agent_id query parameter",
      [{ field: "X-Entourage-Agent", message: value ? "must be a UUID" : "required" }],
      "validation_failed",
    );
  }
  return value.toLowerCase();
}

/** The address this request arrived on: always reachable from this process. */
function ownBaseUrl(req: Request): string {
  const address = req.socket.localAddress ?? "127.0.0.1";
  return `http://${address.includes(":") ? `[${address}]` : address}:${req.socket.localPort}`;
}

function forwardedCredentials(req: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["x-api-key", "authorization"] as const) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  if (req.id) headers["x-request-id"] = String(req.id);
  return headers;
}
