import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sign } from "@octokit/webhooks-methods";
import { githubAppEnv, sendAppDelivery, TEST_WEBHOOK_SECRET } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("the App door checks the signature once per request", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(githubAppEnv());
  });
  afterAll(() => {
    vi.restoreAllMocks();
    syncBuiltinESMExports();
    return app.close();
  });

  it("computes one HMAC for an accepted delivery and one for a refused one", async () => {
    const ping = { zen: "Keep it logically awesome.", hook_id: 1 };
    // Signed before the spy starts: only the server's HMACs are counted.
    const signature = await sign(TEST_WEBHOOK_SECRET, JSON.stringify(ping));
    const spy = vi.spyOn(crypto, "createHmac");
    syncBuiltinESMExports(); // named imports of node:crypto see the spy too
    const accepted = await sendAppDelivery(app.url, "ping", ping, { signature });
    expect(accepted.status).toBeLessThan(300);
    expect(spy.mock.calls.filter(([algorithm]) => algorithm === "sha256")).toHaveLength(1);
    spy.mockClear();
    const refused = await sendAppDelivery(app.url, "ping", ping, { signature: `sha256=${"0".repeat(64)}` });
    expect(refused.status).toBe(401);
    expect(spy.mock.calls.filter(([algorithm]) => algorithm === "sha256")).toHaveLength(1);
  });
});
