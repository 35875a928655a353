import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.js";
import { githubAppCredentials } from "../../../src/features/github/github-app-credentials.js";
import { testPrivateKey } from "../../helpers/github-app.js";

const base = { DATABASE_URL: "postgres://localhost/x", JWT_SECRET: "x".repeat(32), ENCRYPTION_KEY: "0".repeat(64) };

describe("GitHub App credentials from config", () => {
  it("point the client at GitHub Enterprise Server (or a local fake) through GHE_HOST and GHE_PROTOCOL", () => {
    const env = { ...base, APP_ID: "1", PRIVATE_KEY: testPrivateKey(), WEBHOOK_SECRET: "s" };
    expect(githubAppCredentials(loadConfig(env)).credentials?.baseUrl).toBe("https://api.github.com");
    expect(githubAppCredentials(loadConfig({ ...env, GHE_HOST: "github.example.com" })).credentials?.baseUrl).toBe("https://github.example.com/api/v3");
    expect(githubAppCredentials(loadConfig({ ...env, GHE_HOST: "127.0.0.1:3999", GHE_PROTOCOL: "http" })).credentials?.baseUrl).toBe("http://127.0.0.1:3999/api/v3");
  });

  it("accept a PEM written on one line with \\n, or base64-encoded", () => {
    const pem = testPrivateKey();
    const oneLine = pem.replace(/\n/g, "\\n");
    const encoded = Buffer.from(pem).toString("base64");
    for (const PRIVATE_KEY of [oneLine, encoded]) {
      expect(githubAppCredentials(loadConfig({ ...base, APP_ID: "1", PRIVATE_KEY, WEBHOOK_SECRET: "s" })).credentials?.privateKey).toBe(pem);
    }
  });

  it("refuse a private key that is not a PEM, saying what was expected", () => {
    expect(() => githubAppCredentials(loadConfig({ ...base, APP_ID: "1", PRIVATE_KEY: "not a key", WEBHOOK_SECRET: "s" }))).toThrow(/PRIVATE_KEY: not a PEM private key/);
    expect(() => githubAppCredentials(loadConfig({ ...base, APP_ID: "1", PRIVATE_KEY_PATH: "/nonexistent/key.pem", WEBHOOK_SECRET: "s" }))).toThrow(/PRIVATE_KEY_PATH: cannot read/);
  });
});
