import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubAppEnv, TEST_WEBHOOK_SECRET } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

/** `{"a":{"a":…1…}}`, `depth` objects deep, as text (stringifying such a value would overflow). */
const nestedText = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

describe("the App door with deeply nested deliveries", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(githubAppEnv());
  });
  afterAll(() => app.close());

  it.each([5_000, 100_000])("acknowledges a signed delivery %i levels deep (never a 5xx)", async (depth) => {
    const body = `{"action":"opened","deep":${nestedText(depth)}}`;
    const res = await fetch(`${app.url}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": await sign(TEST_WEBHOOK_SECRET, body),
      },
      body,
    });
    expect(res.status, await res.text()).toBeLessThan(300);
  });
});
