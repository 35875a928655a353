import { createRequire } from "node:module";
import { z } from "zod";
import { loggedRefusalOutput } from "../webhooks/webhooks.schema.js";
import { API_ROUTES, type ApiRoute } from "./api-routes.js";
import { errorResponseSchema } from "./error-response.schema.js";

type Json = Record<string, unknown>;

/** The package version: package.json sits three folders up from source, four from dist/. */
function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of ["../../../package.json", "../../../../package.json"]) {
    try {
      const found = require(candidate) as { name?: string; version?: string };
      if (found.name === "entourage" && found.version) return found.version;
    } catch {
      // not at this depth
    }
  }
  return "0.0.0";
}
const version = packageVersion();

const STATUS_TEXT: Record<number, string> = {
  400: "Invalid input (validation_failed lists each bad field); nothing was changed",
  401: "Missing or invalid credentials",
  403: "Not allowed for these credentials",
  404: "Not found (or not the caller's)",
  409: "Conflicts with the current state",
  410: "Gone",
  413: "Body too large",
  422: "Understood but refused by a rule",
  503: "Unavailable; retry later",
};

const RECEIVE_STATUSES: Record<number, string> = {
  200: "A ping (processed, pong), or a repeated delivery GUID (duplicate: nothing stored again)",
  202: "Stored: queued for the worker (status received), or not subscribed (status ignored)",
  400: "Not a JSON object, a form body without payload=, or no X-GitHub-Event (GitHub provider); logged as failed",
  401: "Missing or wrong X-Hub-Signature-256 (logged as rejected, without the body)",
  404: "No such webhook",
  410: "The webhook is inactive",
  413: "Body over 25 MB",
  422: "A custom sender's document does not match its event schema (logged as failed)",
  503: "The delivery could not be stored; retry (Retry-After)",
};

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a client must send it. */
export function toJsonSchema(schema: z.ZodType, io: "input" | "output" = "input"): Json {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
  return json;
}

/** OpenAPI 3.1 description of every /api/v1 route, generated from the schemas the routes validate with. */
export function buildOpenApiDocument(publicUrl: string, routes: ApiRoute[] = API_ROUTES): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: "3.1.0",
    info: {
      title: "Entourage API",
      version,
      description:
        "Turns GitHub activity into tasks and reviews for a team of AI coding agents. Authenticate with an API key " +
        "(X-API-Key) or a JWT from POST /auth/token (Authorization: Bearer). Lists are paginated with `limit` and `cursor`: " +
        'follow the `Link: <…>; rel="next"` header. Every error is `{"error":{"code","message","details?"}}`.',
    },
    servers: [{ url: `${publicUrl}/api/v1` }],
    security: [{ ApiKey: [] }, { BearerJWT: [] }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        ApiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "An org's API key (oc_…)" },
        BearerJWT: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "A token from POST /auth/token (an API key is accepted as bearer too)" },
        AccessToken: { type: "apiKey", in: "query", name: "access_token", description: "A JWT in the URL, for EventSource (GET /events only; API keys are refused here)" },
      },
      schemas: { Error: toJsonSchema(errorResponseSchema, "output") },
      responses: Object.fromEntries(
        Object.entries(STATUS_TEXT).map(([status, description]) => [String(status), { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } }]),
      ),
      headers: {
        Link: { description: 'Present when there is a next page: `<…?cursor=…>; rel="next"`', schema: { type: "string" } },
      },
    },
  };
}

function operation(route: ApiRoute): Json {
  const parameters = [...pathParameters(route.path), ...queryParameters(route.query)];
  const op: Json = { tags: [route.tag], summary: route.summary, operationId: operationId(route) };
  if (route.access === "public" || route.access === "signature") op.security = [];
  if (route.access === "events") op.security = [{ ApiKey: [] }, { BearerJWT: [] }, { AccessToken: [] }];
  if (route.access === "signature") return { ...op, ...receiveOperation(parameters, route.response) };
  if (parameters.length) op.parameters = parameters;
  if (route.body) op.requestBody = { required: true, content: { "application/json": { schema: withExamples(toJsonSchema(route.body), route.examples) } } };

  const [okStatus, okDescription] = route.ok;
  const ok: Json = { description: okDescription };
  if (okStatus !== 204) ok.content = route.path === "/events" ? { "text/event-stream": { schema: { type: "string" } } } : { "application/json": { schema: route.response ? toJsonSchema(route.response) : {} } };
  if (route.paginated) ok.headers = { Link: { $ref: "#/components/headers/Link" } };
  const errors = new Set(route.errors);
  if (route.body || route.query) errors.add(400);
  if (route.access !== "public") errors.add(401);
  if (route.path.includes("{")) errors.add(404);
  const responses: Json = { [okStatus]: ok };
  for (const status of [...errors].sort()) responses[status] = { $ref: `#/components/responses/${status}` };
  return { ...op, responses };
}

function receiveOperation(pathParams: Json[], answer: z.ZodType | undefined): Json {
  const answerSchema = answer ? toJsonSchema(answer) : { type: "object" };
  // A refusal logged as failed names the row: always for 422; for 400 unless nothing could be logged (a form body without payload=).
  const refusals: Record<string, Json> = { 400: toJsonSchema(loggedRefusalOutput.partial({ delivery_id: true })), 422: toJsonSchema(loggedRefusalOutput) };
  const header = (name: string, description: string, required = false) => ({ name, in: "header", required, description, schema: { type: "string" } });
  return {
    description:
      "The signature is the credential: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the webhook's secret>`. " +
      "GitHub sends JSON or form-encoded (`payload=`) bodies; custom senders send one of the custom event documents.",
    parameters: [
      ...pathParams,
      header("X-Hub-Signature-256", "sha256=<hex HMAC-SHA256 of the raw body> (custom senders may use X-Entourage-Signature)", true),
      header("X-GitHub-Event", "GitHub provider: the event name (issues, pull_request, ping, …)"),
      header("X-GitHub-Delivery", "GitHub provider: the delivery GUID (repeats answer 200 duplicate)"),
      header("X-Entourage-Event", "Custom provider: the event type (or the body's `event`)"),
      header("X-Entourage-Delivery", "Custom provider: a delivery id for de-duplication"),
    ],
    requestBody: {
      required: true,
      content: {
        "application/json": { schema: { type: "object", description: "The event document" } },
        "application/x-www-form-urlencoded": { schema: { type: "object", properties: { payload: { type: "string" } }, required: ["payload"] } },
      },
    },
    responses: Object.fromEntries(
      Object.entries(RECEIVE_STATUSES).map(([status, description]) => [
        status,
        { description, content: { "application/json": { schema: Number(status) < 400 ? answerSchema : (refusals[status] ?? { $ref: "#/components/schemas/Error" }) } } },
      ]),
    ),
  };
}

function withExamples(schema: Json, examples: Record<string, unknown> = {}): Json {
  const properties = schema.properties as Record<string, Json> | undefined;
  for (const [name, example] of Object.entries(examples)) {
    if (!properties?.[name]) throw new Error(`example for ${name}, which the body does not have`);
    properties[name] = { ...properties[name], examples: [example] };
  }
  return schema;
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
    const integerId = name === "id" && /^\/(tasks|reviews|github\/installations)\//.test(path);
    return { name, in: "path", required: true, schema: integerId ? { type: "integer", minimum: 1 } : { type: "string", format: "uuid" } };
  });
}

function queryParameters(query: z.ZodType | undefined): Json[] {
  if (!query) return [];
  const json = toJsonSchema(query) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema,
    ...(name === "cursor" ? { description: "Opaque: take it from the Link header of the previous page" } : {}),
  }));
}

function operationId(route: ApiRoute): string {
  const words = route.path.replace(/\{(\w+)\}/g, "by-$1").split(/[^a-zA-Z0-9]+/).filter(Boolean);
  return [route.method, ...words].map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join("");
}
