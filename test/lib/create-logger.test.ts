import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/create-logger.js";
import { githubExample } from "../helpers/github-examples.js";
import { startTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestApp } from "../helpers/test-app.js";
import { deliverAndWait, registerWebhook, sendDelivery } from "../helpers/webhooks.js";
import { waitFor } from "../helpers/wait-for.js";

/** A destination that keeps every line written to it. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines, text: () => lines.join("\n") };
}

describe("logs", () => {
  describe("format", () => {
    it("is human-readable on a terminal: time, level and message, no JSON", () => {
      const out = capture();
      createLogger({ LOG_LEVEL: "info" }, out.stream, true).info({ deliveryId: "d-1" }, "delivery processed");
      expect(out.lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: delivery processed$/);
      expect(out.text()).toContain('deliveryId: "d-1"');
      expect(out.text()).not.toContain('{"level"');
    });

    it("is one JSON object a line when stdout is not a terminal", () => {
      const out = capture();
      createLogger({ LOG_LEVEL: "info" }, out.stream, false).info({ deliveryId: "d-1" }, "delivery processed");
      expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 30, name: "entourage", msg: "delivery processed", deliveryId: "d-1" });
    });

    it("is JSON on a terminal too with LOG_FORMAT=json", () => {
      const out = capture();
      const config = loadConfig({ LOG_FORMAT: "json", LOG_LEVEL: "info" });
      createLogger(config, out.stream, true).info("hello");
      expect(JSON.parse(out.lines[0]!)).toMatchObject({ msg: "hello" });
    });

    it("honours LOG_LEVEL", () => {
      const out = capture();
      const logger = createLogger(loadConfig({ LOG_LEVEL: "warn" }), out.stream, false);
      logger.info("not shown");
      logger.warn("shown");
      expect(out.lines.map((line) => JSON.parse(line).msg)).toEqual(["shown"]);
    });

    it("censors credentials and documents wherever a caller puts them, errors included", () => {
      const out = capture();
      const logger = createLogger({ LOG_LEVEL: "trace" }, out.stream, false);
      // The shape of an Octokit RequestError: the request it made carries the installation token.
      const octokitError = Object.assign(new Error("Bad credentials"), { status: 401, request: { headers: { authorization: "token ghs_secret1" } } });
      const pgError = Object.assign(new Error("duplicate key"), { code: "23505", detail: "Key (title)=(secret2) already exists." });
      logger.error({ err: octokitError }, "GitHub write failed");
      logger.error({ err: pgError }, "insert failed");
      logger.debug({ delivery: { payload: '{"secret3":1}', headers: { "x-api-key": "oc_secret4" } } }, "delivery");
      logger.trace({ secret: "whsec_secret5", token: "secret6", body: "secret7" }, "request");
      const text = out.text();
      for (const secret of ["ghs_secret1", "secret2", "secret3", "oc_secret4", "whsec_secret5", "secret6", "secret7"]) expect(text).not.toContain(secret);
      expect(JSON.parse(out.lines[0]!).err).toMatchObject({ message: "Bad credentials", status: 401, request: "[redacted]" });
    });

    it("refuses an unknown LOG_FORMAT", () => {
      expect(() => loadConfig({ LOG_FORMAT: "xml" })).toThrow(/LOG_FORMAT/);
    });
  });

  // The whole system at trace level, through the paths that carry credentials and payloads.
  describe("no secret or payload in any line at any level", () => {
    const out = capture();
    let app: TestApp;
    const MARKER = "payload-marker-7d1f0c";

    beforeAll(async () => {
      app = await startTestApp({ LOG_LEVEL: "trace" }, { logger: createLogger({ LOG_LEVEL: "trace", LOG_FORMAT: "json" }, out.stream) });
    });
    afterAll(() => app.close());

    it("keeps API keys, tokens, webhook secrets, signatures and payloads out of the log", async () => {
      const org = await app.bootstrap();
      const webhook = await registerWebhook(app, org.api_key, org.team_id);
      const token = (await app.request("POST", "/api/v1/auth/token", { key: org.api_key })).body.token as string;
      expect(token).toBeTruthy();
      await app.request("GET", "/api/v1/teams", { headers: { authorization: `Bearer ${token}` } });
      await app.request("GET", "/api/v1/teams", { key: `${org.api_key}x` }); // a refused key
      const outbound = await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/hook", events: ["task.*"] } });
      const issue = githubExample("issues", "opened");
      issue.issue.title = `Crash ${MARKER}`;
      const processed = await deliverAndWait(app, webhook, issue, { event: "issues" });
      expect(processed.status).toBe("processed");
      const forged = await sendDelivery(app.url, webhook, { marker: MARKER }, { event: "issues", signature: "sha256=" + "0".repeat(64) });
      expect(forged.status).toBe(401);
      await sendDelivery(app.url, webhook, `{"broken": "${MARKER}"`, { event: "issues" }); // invalid JSON, logged as failed
      await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { title: MARKER, team_id: "not-a-uuid" } }); // a 400
      // The outbound sender tries the closed port and logs the failure.
      await waitFor(async () => out.text().includes("outbound") || undefined, "the outbound sender to log its attempt");

      const text = out.text();
      expect(out.lines.length).toBeGreaterThan(3);
      for (const secret of [org.api_key, token, webhook.secret, outbound.body.secret, TEST_JWT_SECRET, TEST_ENCRYPTION_KEY, MARKER]) {
        expect(secret, "a value the test expected to have").toBeTruthy();
        expect(text).not.toContain(secret);
      }
      expect(text).not.toMatch(/sha256=[0-9a-f]{64}/);
    });
  });
});
