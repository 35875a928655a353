import type { Page } from "playwright-core";
import { CHROMIUM, launchChromium, type Browser } from "../../helpers/chromium.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startFakeGithub, type FakeGithub } from "../../helpers/fake-github.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

if (!CHROMIUM) console.warn("Skipping the Connect GitHub browser test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).");

describe.skipIf(!CHROMIUM)("dashboard: Connect GitHub in a real browser, against a fake GitHub", () => {
  let fake: FakeGithub;
  let app: TestApp;
  let org: BootstrapResult;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    fake = await startFakeGithub();
    app = await startTestApp({ GHE_HOST: fake.host, GHE_PROTOCOL: "http", GITHUB_RECOVERY_INTERVAL_SECONDS: "0" });
    org = await app.bootstrap();
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await fake?.close();
  });

  it("registers the App, installs it, and shows its installation with its team", async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(app.url);
    await page.getByLabel("API key").fill(org.api_key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "GitHub" }).click();
    await page.getByRole("heading", { name: "Connect GitHub" }).waitFor();

    // Register: the form posts the manifest to (fake) GitHub, which comes back through the setup callback.
    await page.getByRole("button", { name: "Register GitHub App" }).click();
    await page.waitForURL(`${app.url}/?github=installed`);
    expect(fake.manifests).toHaveLength(1);
    await page.getByRole("link", { name: fake.app.name }).waitFor();
    const installation = page.locator("#github-installations li.installation");
    await installation.waitFor();
    expect(await installation.textContent()).toContain("acme");
    expect(await installation.getByRole("combobox").inputValue()).toBe(org.team_id);

    // Install on more repositories: another round trip through GitHub, linked to this org too.
    await page.getByRole("button", { name: "Install on repositories" }).click();
    await page.waitForURL(`${app.url}/?github=installed`);
    await expect.poll(() => page.locator("#github-installations li.installation").count()).toBe(2);
    expect(await app.db.knex("github_installations").where({ org_id: org.org_id }).pluck("id")).toHaveLength(2);
    expect(pageErrors).toEqual([]);
  });
});
