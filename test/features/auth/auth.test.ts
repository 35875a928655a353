import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { LIVE_KEY_CACHE_MS } from "../../../src/features/auth/live-key-cache.js";
import { openSse } from "../../helpers/sse-client.js";
import { startTestApp, TEST_JWT_SECRET, type TestApp } from "../../helpers/test-app.js";

describe("auth", () => {
  let app: TestApp;
  let acme: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
  });
  afterAll(() => app.close());

  describe("API keys", () => {
    it("answers 401 JSON without credentials", async () => {
      const res = await app.request("GET", "/api/v1/teams");
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    });

    it("answers 401 for an unknown key", async () => {
      const res = await app.request("GET", "/api/v1/teams", { key: "oc_not-a-real-key" });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/invalid or revoked/i);
    });

    it("accepts the key as X-API-Key and as a Bearer token", async () => {
      expect((await app.request("GET", "/api/v1/teams", { key: acme.api_key })).status).toBe(200);
      const bearer = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${acme.api_key}` } });
      expect(bearer.status).toBe(200);
      expect(bearer.body.map((team: { id: string }) => team.id)).toEqual([acme.team_id]);
    });

    it("creates a key shown once, lists it without the key, and a revoked key stops working", async () => {
      const created = await app.request("POST", "/api/v1/api-keys", { key: acme.api_key, body: { name: "ci" } });
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^oc_[A-Za-z0-9_-]{43}$/);
      expect((await app.request("GET", "/api/v1/teams", { key: created.body.key })).status).toBe(200);

      const list = await app.request("GET", "/api/v1/api-keys", { key: acme.api_key });
      const listed = list.body.find((key: { id: string }) => key.id === created.body.id);
      expect(listed.name).toBe("ci");
      expect(listed).not.toHaveProperty("key");
      expect(listed).not.toHaveProperty("key_hash");
      expect(listed.last_used_at).not.toBeNull();

      const stored = await app.db.knex("api_keys").where({ id: created.body.id }).first();
      expect(stored.key_hash).not.toContain(created.body.key);
      expect(JSON.stringify(stored)).not.toContain(created.body.key);

      expect((await app.request("DELETE", `/api/v1/api-keys/${created.body.id}`, { key: acme.api_key })).status).toBe(204);
      const revoked = await app.request("GET", "/api/v1/teams", { key: created.body.key });
      expect(revoked.status).toBe(401);
    });

    it("cannot revoke another org's key: 404 as for a missing one", async () => {
      const other = await app.bootstrap({ name: "other" });
      const otherKeys = await app.request("GET", "/api/v1/api-keys", { key: other.api_key });
      const res = await app.request("DELETE", `/api/v1/api-keys/${otherKeys.body[0].id}`, { key: acme.api_key });
      expect(res.status).toBe(404);
      expect((await app.request("GET", "/api/v1/teams", { key: other.api_key })).status).toBe(200);
    });
  });

  describe("tokens", () => {
    it("issues a short-lived JWT for the key's org that authenticates as Bearer", async () => {
      const res = await app.request("POST", "/api/v1/auth/token", { key: acme.api_key, body: { expires_in: 120 } });
      expect(res.status).toBe(200);
      const claims = jwt.verify(res.body.token, TEST_JWT_SECRET) as jwt.JwtPayload;
      expect(claims.org_id).toBe(acme.org_id);
      expect(new Date(res.body.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(120_000);
      const teams = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${res.body.token}` } });
      expect(teams.status).toBe(200);
      expect(teams.body[0].org_id).toBe(acme.org_id);
    });

    it("refuses to mint a token from a token", async () => {
      const { body } = await app.request("POST", "/api/v1/auth/token", { key: acme.api_key });
      const res = await app.request("POST", "/api/v1/auth/token", { headers: { authorization: `Bearer ${body.token}` } });
      expect(res.status).toBe(403);
    });

    it("rejects a bad expires_in with a field error", async () => {
      const res = await app.request("POST", "/api/v1/auth/token", { key: acme.api_key, body: { expires_in: 10 ** 9 } });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: "expires_in" })]);
    });

    it("answers 401 for an expired token", async () => {
      const token = jwt.sign({ org_id: acme.org_id, exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_SECRET);
      const res = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    });

    it("answers 401 for a token without exp", async () => {
      const token = jwt.sign({ org_id: acme.org_id }, TEST_JWT_SECRET);
      const res = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    });

    it("answers 401 for an alg:none token", async () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const token = `${encode({ alg: "none", typ: "JWT" })}.${encode({ org_id: acme.org_id, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      const res = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    });

    it("answers 401 for a token signed with another secret or algorithm", async () => {
      const exp = Math.floor(Date.now() / 1000) + 600;
      const wrongSecret = jwt.sign({ org_id: acme.org_id, exp }, "another-secret-of-at-least-32-characters!!");
      const hs512 = jwt.sign({ org_id: acme.org_id, exp }, TEST_JWT_SECRET, { algorithm: "HS512" });
      for (const token of [wrongSecret, hs512]) {
        const res = await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(401);
      }
    });
  });

  describe("a token acts for the key that minted it", () => {
    const mint = async (key: string, expiresIn = 600) =>
      (await app.request("POST", "/api/v1/auth/token", { key, body: { expires_in: expiresIn } })).body as { token: string; expires_at: string };
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    it("names its key in the JWT header (kid)", async () => {
      const keys = await app.request("GET", "/api/v1/api-keys", { key: acme.api_key });
      const { token } = await mint(acme.api_key);
      const decoded = jwt.decode(token, { complete: true })!;
      expect(keys.body.map((key: { id: string }) => key.id)).toContain(decoded.header.kid);
    });

    it("cannot list, create or revoke API keys: 403", async () => {
      const { token } = await mint(acme.api_key);
      const keys = await app.request("GET", "/api/v1/api-keys", { key: acme.api_key });
      for (const [method, path, body] of [
        ["GET", "/api/v1/api-keys", undefined],
        ["POST", "/api/v1/api-keys", { name: "minted by a token" }],
        ["DELETE", `/api/v1/api-keys/${keys.body[0].id}`, undefined],
      ] as const) {
        const res = await app.request(method, path, { ...bearer(token), body });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.code).toBe("forbidden");
      }
      const after = await app.request("GET", "/api/v1/api-keys", { key: acme.api_key });
      expect(after.body.map((key: { name: string }) => key.name)).not.toContain("minted by a token");
      expect((await app.request("GET", "/api/v1/teams", { key: acme.api_key })).status).toBe(200);
    });

    it("stops working once its key is revoked", async () => {
      const created = await app.request("POST", "/api/v1/api-keys", { key: acme.api_key, body: { name: "short-lived" } });
      const { token } = await mint(created.body.key);
      expect((await app.request("GET", "/api/v1/teams", bearer(token))).status).toBe(200);
      expect((await app.request("DELETE", `/api/v1/api-keys/${created.body.id}`, { key: acme.api_key })).status).toBe(204);
      await vi.waitFor(async () => expect((await app.request("GET", "/api/v1/teams", bearer(token))).status).toBe(401), {
        timeout: 8_000,
        interval: 250,
      });
      const events = await app.request("GET", `/api/v1/events?access_token=${token}`);
      expect(events.status).toBe(401);
    });

    it("stops working within the revocation cache (3 s) when its key is revoked by another instance", async () => {
      const created = await app.request("POST", "/api/v1/api-keys", { key: acme.api_key, body: { name: "revoked elsewhere" } });
      const { token } = await mint(created.body.key);
      // This instance has now seen the key live (and caches that).
      expect((await app.request("GET", "/api/v1/teams", bearer(token))).status).toBe(200);
      // Another instance revokes it: the row changes, this process's cache is not told.
      await app.db.knex("api_keys").where({ id: created.body.id }).update({ revoked_at: app.db.knex.fn.now() });
      const revokedAt = Date.now();
      await vi.waitFor(async () => expect((await app.request("GET", "/api/v1/teams", bearer(token))).status).toBe(401), {
        timeout: 8_000,
        interval: 200,
      });
      expect(Date.now() - revokedAt).toBeLessThan(LIVE_KEY_CACHE_MS + 1_500);
    });

    it("answers 401 for a token that names no key", async () => {
      const token = jwt.sign({ org_id: acme.org_id, exp: Math.floor(Date.now() / 1000) + 600 }, TEST_JWT_SECRET);
      expect((await app.request("GET", "/api/v1/teams", bearer(token))).status).toBe(401);
    });

    it("ends an SSE stream opened with it when it expires: event token_expired, then the stream closes", async () => {
      const { token, expires_at } = await mint(acme.api_key, 30);
      // Shorten the wait: re-sign the same claims with an expiry 2 s away (same key, same secret).
      const decoded = jwt.decode(token, { complete: true })!;
      const soon = jwt.sign({ ...(decoded.payload as object), exp: Math.floor(Date.now() / 1000) + 2 }, TEST_JWT_SECRET, {
        keyid: decoded.header.kid,
      });
      expect(new Date(expires_at).getTime()).toBeGreaterThan(Date.now());
      const client = await openSse(`${app.url}/api/v1/events?access_token=${soon}`);
      expect(client.status).toBe(200);
      const expired = await client.waitFor((message) => message.event === "token_expired", 8_000);
      expect(expired.json).toEqual({ reason: expect.stringMatching(/expired/) });
      await client.ended;
    });
  });
});
