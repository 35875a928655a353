import { generateKeyPairSync, randomUUID } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";
import { request, type TestResponse } from "./test-app.js";

export const TEST_APP_ID = "4242";
export const TEST_WEBHOOK_SECRET = "test-app-webhook-secret";

let privateKey: string | undefined;

/** A freshly generated RSA key (PKCS#1 PEM, as GitHub hands out), one per test run. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
  return privateKey;
}

/** Environment that turns the App path on, with the GitHub API at api.github.com (faked by nock). */
export function githubAppEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ID: TEST_APP_ID,
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    GITHUB_RECOVERY_INTERVAL_SECONDS: "0",
    ...extra,
  };
}

/** Posts an App delivery to /api/github/webhooks the way GitHub does, signed with the App's secret unless told otherwise. */
export async function sendAppDelivery(
  baseUrl: string,
  event: string,
  payload: unknown,
  options: { guid?: string; secret?: string; signature?: string | null } = {},
): Promise<TestResponse & { guid: string }> {
  const body = JSON.stringify(payload);
  const guid = options.guid ?? randomUUID();
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-event": event,
    "x-github-delivery": guid,
    "x-github-hook-id": "1",
    "x-github-hook-installation-target-type": "integration",
    "x-github-hook-installation-target-id": TEST_APP_ID,
  };
  const signature = options.signature === undefined ? await sign(options.secret ?? TEST_WEBHOOK_SECRET, body) : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await request(baseUrl, "POST", "/api/github/webhooks", { body, headers });
  return { ...res, guid };
}
