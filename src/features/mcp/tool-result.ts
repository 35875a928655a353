import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { EntourageApiError } from "./entourage-api-client.js";

/**
 * Runs a tool body and shapes its answer: the value as pretty JSON text, or — when the API
 * refuses — a tool error (`isError: true`) carrying the API's own message, so the agent can
 * read why and try again instead of the call failing at the protocol level.
 */
export async function runTool(body: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    const value = await body();
    return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
  } catch (error) {
    if (error instanceof EntourageApiError) return { isError: true, content: [{ type: "text", text: describeApiError(error) }] };
    throw error;
  }
}

/** "Entourage API error (HTTP 409 conflict): <message>" plus the details, when the API gave any. */
export function describeApiError(error: EntourageApiError): string {
  const head = error.status ? `Entourage API error (HTTP ${error.status} ${error.code}): ${error.message}` : error.message;
  return error.details === undefined ? head : `${head}\nDetails: ${JSON.stringify(error.details)}`;
}
