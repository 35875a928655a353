import { generateKeyPairSync } from "node:crypto";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveAppCredentials } from "../../../src/features/github/github-app-credentials.store.js";
import { GITHUB_API } from "../../helpers/github-nock.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

/** The App id a GitHub App JWT (`Authorization: Bearer <jwt>`) was minted for: its `iss`. */
function appIdOf(authorization: string): string {
  const payload = authorization.replace(/^bearer /i, "").split(".")[1]!;
  return String(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).iss);
}

function storedApp(id: number) {
  const pem = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
  return { id, slug: `app-${id}`, name: `App ${id}`, html_url: `https://github.com/apps/app-${id}`, pem, webhook_secret: `secret-${id}` };
}

describe("missed-delivery recovery after the App is replaced", () => {
  let app: TestApp;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    // No App in the environment: it comes from the setup flow's stored credentials, as in production.
    app = await startTestApp({ GITHUB_RECOVERY_INTERVAL_SECONDS: "3600" });
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("asks GitHub's delivery log as the App now configured, not the one it started with", async () => {
    const org = await app.bootstrap();
    const askedAs: string[] = [];
    nock(GITHUB_API)
      .persist()
      .get("/app/hook/deliveries")
      .query(true)
      .reply(function () {
        askedAs.push(appIdOf(String(this.req.headers.authorization)));
        return [200, []];
      });

    await saveAppCredentials(app.db.knex, app.ctx.secrets.encryptionKey, storedApp(111), org.org_id);
    await app.ctx.githubApp!.refresh();
    const recovery = app.entourage.githubRecovery();
    expect(recovery).toBeDefined();
    await recovery!.runNow(); // the pass started with the first App (or this one, if it already ended)
    expect(askedAs).toContain("111");

    await saveAppCredentials(app.db.knex, app.ctx.secrets.encryptionKey, storedApp(222), org.org_id);
    await app.ctx.githubApp!.refresh();
    askedAs.length = 0;
    await recovery!.runNow();
    expect(askedAs).toEqual(["222"]);
  });
});
