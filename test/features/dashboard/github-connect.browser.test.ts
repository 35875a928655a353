import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startFakeGithub, type FakeGithub } from "../../helpers/fake-github.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (candidate): candidate is string => !!candidate && existsSync(candidate),
);
if (!CHROMIUM) console.warn("Skipping the Connect GitHub browser test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).");

describe.skipIf(!CHROMIUM)("dashboard: Connect GitHub in a real browser, against a fake GitHub", () => {
  let fake: FakeGithub;
  let app: TestApp;
  let org: BootstrapResult;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    fake = await startFakeGithub();
    app = await startTestApp({ GHE_HOST: fake.host, GHE_PROTOCOL: "http", GITHUB_RECOVERY_INTERVAL_SECONDS: "0" });
    org = await app.bootstrap();
    profileDir = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      viewport: { width: 1440, height: 960 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterAll(async () => {
    await context?.close();
    await app?.close();
    await fake?.close();
    if (profileDir) await fs.rm(profileDir, { recursive: true, force: true });
  });

  it("registers the App, installs it, and shows its installation with its team", async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(app.url);
    await page.getByLabel("API key").fill(org.api_key);
    await page.getByRole("button", { name: "Sign in" }).click();
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
