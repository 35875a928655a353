import { Validator } from "@seriousme/openapi-schema-validator";
import type { Express } from "express";
import { generate } from "json-schema-faker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { API_ROUTES } from "../../../src/features/openapi/api-routes.js";
import { errorResponseSchema } from "../../../src/features/openapi/error-response.schema.js";
import { RECEIVE_PATH } from "../../../src/features/webhooks/receive-webhook.js";
import { githubSignature } from "../../helpers/github-signature.js";
import { createHttpApp } from "../../../src/http/create-http-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

type Json = Record<string, any>;

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string;
}

/** Every `METHOD /path` the Express app mounts, found by walking its router and the routers inside it. */
function mountedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const routePath of [layer.route.path].flat()) {
          for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${prefix}${routePath}`);
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, prefix + (typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : ""));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, "");
  return found;
}

describe("the OpenAPI document", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let document: Json;
  let webhook: RegisteredWebhook;
  const fixtures: Record<string, string> = {};

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
    webhook = await registerWebhook(app, org.api_key, org.team_id);
    const res = await app.request("GET", "/api/v1/openapi.json"); // public: no key
    expect(res.status).toBe(200);
    document = res.body;

    const task = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "Fixture" } });
    const endpoint = await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/x", events: ["task.*"] } });
    const agents = await app.request("GET", `/api/v1/teams/${org.team_id}/agents`, { key: org.api_key });
    Object.assign(fixtures, {
      "/tasks/{id}": String(task.body.id),
      "/teams/{id}": org.team_id,
      "/agents/{id}": agents.body[0].id,
      "/webhooks/{id}": webhook.id,
      "/outbound-webhooks/{id}": endpoint.body.id,
      "/reviews/{id}": "1",
      "/github/installations/{id}": "4242",
    });
  });
  afterAll(() => app.close());

  const references = (): Record<string, unknown> => ({
    org_id: org.org_id,
    team_id: org.team_id,
    assignee_id: fixtures["/agents/{id}"],
    author_agent_id: fixtures["/agents/{id}"],
    agent_id: fixtures["/agents/{id}"],
    parent_id: Number(fixtures["/tasks/{id}"]),
    depends_on: [],
    installation_id: undefined,
    repositories: undefined,
  });

  /** A documented path with real ids filled in. */
  const concrete = (path: string) => {
    const base = Object.keys(fixtures).find((prefix) => path.startsWith(prefix));
    return `/api/v1${base ? path.replace(base, base.replace("{id}", fixtures[base]!)) : path}`.replace("{deliveryId}", "00000000-0000-4000-8000-000000000000");
  };

  it("is a valid OpenAPI 3.1 document", async () => {
    expect(document.openapi).toBe("3.1.0");
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("has both security schemes, the error shape, pagination and the receive endpoint with its signature header and every status", () => {
    expect(document.components.securitySchemes.ApiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-API-Key" });
    expect(document.components.securitySchemes.BearerJWT).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(document.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
    const tasks = document.paths["/tasks"].get;
    expect(tasks.parameters.map((p: Json) => p.name)).toEqual(expect.arrayContaining(["limit", "cursor"]));
    expect(tasks.responses["200"].headers.Link).toEqual({ $ref: "#/components/headers/Link" });
    const receive = document.paths["/webhooks/{id}/receive"].post;
    expect(receive.security).toEqual([]);
    expect(receive.parameters).toContainEqual(expect.objectContaining({ name: "X-Hub-Signature-256", in: "header", required: true }));
    expect(Object.keys(receive.responses).sort()).toEqual(["200", "202", "400", "401", "404", "410", "413", "422", "503"]);
  });

  it("documents every /api/v1 route the server mounts, and mounts every route it documents", () => {
    const mounted = mountedRoutes(createHttpApp(app.ctx, { pipeline: app.entourage.pipeline }))
      .filter((route) => route.split(" ")[1]!.startsWith("/api/v1/"))
      .sort();
    // The receive endpoint runs on the bare request listener, before Express.
    expect(RECEIVE_PATH.test("/api/v1/webhooks/3f1c2e4a-0000-4000-8000-000000000000/receive")).toBe(true);
    mounted.push("POST /api/v1/webhooks/:id/receive");
    const documented = API_ROUTES.map((route) => `${route.method.toUpperCase()} /api/v1${route.path.replace(/\{(\w+)\}/g, ":$1")}`);
    expect([...new Set(mounted)].sort()).toEqual([...new Set(documented)].sort());
    expect(Object.keys(document.paths).length).toBe(new Set(API_ROUTES.map((route) => route.path)).size);
  });

  describe("each documented request body", () => {
    const withBodies = API_ROUTES.filter((route) => route.body);
    it("covers the routes that take one", () => expect(withBodies.length).toBeGreaterThanOrEqual(15));

    it.each(withBodies.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))(
      "%s: a generated valid body passes validation, an invalid one is refused with the documented error shape",
      async (_name, route) => {
        const schema = document.paths[route.path][route.method].requestBody.content["application/json"].schema;
        // Generated from the document; fields that refer to other objects then point at the caller's own.
        const valid = bindReferences(await generate(schema, { useExamplesValue: true, alwaysFakeOptionals: true, maxItems: 2, seed: 7 }), references());
        const accepted = await app.request(route.method.toUpperCase(), concrete(route.path), { key: org.api_key, body: valid });
        const sent = `${JSON.stringify(valid).slice(0, 600)} → ${accepted.text.slice(0, 600)}`;
        expect(accepted.status, sent).toBeLessThan(500);
        expect(accepted.body?.error?.code, sent).not.toBe("validation_failed");

        const invalid = breakBody(schema, valid as Json);
        const refused = await app.request(route.method.toUpperCase(), concrete(route.path), { key: org.api_key, body: invalid });
        expect(refused.status, `${JSON.stringify(invalid)} → ${refused.text}`).toBe(400);
        expect(errorResponseSchema.safeParse(refused.body).success).toBe(true);
        expect(refused.body.error.code).toBe("validation_failed");
      },
    );

    it("POST /webhooks/{id}/receive: a signed JSON object is accepted, a JSON array refused with the error shape", async () => {
      const receiver = await registerWebhook(app, org.api_key, org.team_id); // the PATCH above may have deactivated the other
      const url = `${app.url}/api/v1/webhooks/${receiver.id}/receive`;
      const send = async (body: string) =>
        fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-github-event": "issues", "x-hub-signature-256": await githubSignature(receiver.secret, body) } });
      expect((await send(JSON.stringify({ action: "opened" }))).status).toBe(202);
      const refused = await send("[1]");
      expect(refused.status).toBe(400);
      expect(errorResponseSchema.safeParse(await refused.json()).success).toBe(true);
    });
  });

  it("is rendered for people at /docs from files Entourage serves itself", async () => {
    const page = await app.request("GET", "/docs");
    expect(page.status).toBe(200);
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(source.startsWith("/docs/"), source).toBe(true); // no CDN
      const asset = await app.request("GET", source);
      expect(asset.status, source).toBe(200);
      expect(asset.text.length).toBeGreaterThan(10);
    }
    expect((await app.request("GET", "/docs/start.js")).text).toContain("/api/v1/openapi.json");
    expect((await app.request("GET", "/docs/package.json")).status).toBe(404); // only the files the page needs
  });
});

/** Replaces, at any depth, the value of each field named in `references` (undefined removes it). */
function bindReferences(value: unknown, references: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((item) => bindReferences(item, references));
  if (!value || typeof value !== "object") return value;
  const bound: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (!(key in references)) bound[key] = bindReferences(item, references);
    else if (references[key] !== undefined) bound[key] = references[key];
  }
  return bound;
}

/** The valid body with one property given a value of the wrong type (or an empty object where nothing else can be wrong). */
function breakBody(schema: Json, valid: Json): unknown {
  const [name, property] = Object.entries((schema.properties ?? {}) as Record<string, Json>)[0] ?? [];
  if (!name) return [];
  return { ...valid, [name]: property!.type === "string" ? 12345 : "not-a-" + String(property!.type ?? "value") };
}
