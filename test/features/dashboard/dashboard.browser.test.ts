import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (candidate): candidate is string => !!candidate && existsSync(candidate),
);
if (!CHROMIUM) console.warn("Skipping the dashboard browser test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).");

const ARTIFACTS = path.resolve("test-artifacts");

describe.skipIf(!CHROMIUM)("dashboard in a real browser", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    app = await startTestApp();
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
    if (profileDir) await fs.rm(profileDir, { recursive: true, force: true });
  });

  it("signs in, then shows a new task and its status change live, without a reload", async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(app.url);
    await page.getByLabel("API key").fill("oc_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#sign-in-error").textContent()).toMatch(/not accepted/);

    await page.getByLabel("API key").fill(org.api_key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('#live-status[data-state="live"]').waitFor();
    // Not built on this branch yet: the panels say so instead of breaking the page.
    await page.getByText("Register a webhook").first().waitFor();
    await page.getByText("No tasks yet.").waitFor();
    await page.evaluate("window.notReloaded = true");

    const created = await app.request("POST", "/api/v1/tasks", {
      key: org.api_key,
      body: { team_id: org.team_id, title: "Login broken on Safari", priority: "high", task_type: "bugfix", assignee_id: org.agents[0]!.id },
    });
    expect(created.status).toBe(201);
    const card = page.locator(`[data-testid="column-todo"] [data-testid="task-${created.body.id}"]`);
    await card.waitFor();
    await expect.poll(() => card.textContent()).toContain("Login broken on Safari");
    expect(await card.textContent()).toContain("eng-1");

    const moved = await app.request("PATCH", `/api/v1/tasks/${created.body.id}`, { key: org.api_key, body: { status: "in_progress" } });
    expect(moved.status).toBe(200);
    await page.locator(`[data-testid="column-in_progress"] [data-testid="task-${created.body.id}"]`).waitFor();
    expect(await page.locator(`[data-testid="column-todo"] [data-testid="task-${created.body.id}"]`).count()).toBe(0);

    expect(await page.evaluate("window.notReloaded")).toBe(true);
    expect(pageErrors).toEqual([]);
    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  });
});
