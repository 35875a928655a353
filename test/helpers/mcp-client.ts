import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface McpTestClient {
  client: Client;
  /** Calls a tool; `json` is its text parsed when it is JSON, `text` the raw text. */
  call(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; text: string; json: any }>;
  /** Transport errors seen so far (e.g. a line on stdout that is not JSON-RPC). */
  errors: Error[];
  /** What the server wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

/** The argv that runs `entourage mcp` from source (node with the tsx loader). */
export function entourageCommand(...args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--import", "tsx", "src/cli.ts", ...args] };
}

/** Spawns `entourage mcp` as a child process with this environment and connects the SDK's client over stdio. */
export async function connectStdio(env: Record<string, string>): Promise<McpTestClient> {
  const transport = new StdioClientTransport({
    ...entourageCommand("mcp"),
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return connect(transport, () => stderr);
}

/** Connects the SDK's client to `POST /mcp` over Streamable HTTP with these headers. */
export async function connectHttp(url: string, headers: Record<string, string>): Promise<McpTestClient> {
  return connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }), () => "");
}

async function connect(transport: StdioClientTransport | StreamableHTTPClientTransport, stderr: () => string): Promise<McpTestClient> {
  const client = new Client({ name: "entourage-tests", version: "1.0.0" });
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  return {
    client,
    errors,
    stderr,
    async call(name, args = {}) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      const text = result.content.map((part) => (part.type === "text" ? part.text : "")).join("");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { isError: result.isError === true, text, json };
    },
    close: () => client.close(),
  };
}
