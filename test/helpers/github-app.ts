import { generateKeyPairSync, randomUUID } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";
import { request, type TestApp, type TestResponse } from "./test-app.js";

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

/**
 * What the App's `installation` event and the instance org do for an installation: it is recorded
 * (with the repositories it covers) and linked to `orgId` through POST /api/v1/github/installations/{id}/link.
 */
export async function linkInstallation(
  app: TestApp,
  instanceKey: string,
  installationId: number,
  orgId: string,
  options: { repositories?: string[]; team_id?: string } = {},
): Promise<any> {
  const repositories = options.repositories ?? [];
  await app.db.knex("github_installations").insert({ id: installationId, account_login: repositories[0]?.split("/")[0] ?? "someone" }).onConflict("id").ignore();
  if (repositories.length) {
    await app.db
      .knex("github_installation_repositories")
      .insert(repositories.map((full_name, i) => ({ installation_id: installationId, repository_id: installationId * 1000 + i, full_name })))
      .onConflict(["installation_id", "repository_id"])
      .ignore();
  }
  const res = await request(app.url, "POST", `/api/v1/github/installations/${installationId}/link`, {
    key: instanceKey,
    body: { org_id: orgId, ...(options.team_id ? { team_id: options.team_id } : {}), replace: true },
  });
  if (res.status !== 200) throw new Error(`linking installation ${installationId} failed: ${res.status} ${res.text}`);
  return res.body;
}
