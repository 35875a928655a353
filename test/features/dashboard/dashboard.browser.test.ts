import fs from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { CHROMIUM, launchChromium, type Browser } from "../../helpers/chromium.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery } from "../../helpers/webhooks.js";

if (!CHROMIUM) console.warn("Skipping the dashboard browser test: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).");

const ARTIFACTS = path.resolve("test-artifacts");

describe.skipIf(!CHROMIUM)("dashboard in a real browser", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
    browser = await launchChromium();
    page = browser.page;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("signs in, then shows tasks, deliveries and status changes live, without a reload", async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));

    await page.goto(app.url);
    await page.getByLabel("API key").fill("oc_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#sign-in-error").textContent()).toMatch(/not accepted/);

    await page.getByLabel("API key").fill(org.api_key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('#live-status[data-state="live"]').waitFor();
    await page.getByText("No tasks yet.").waitFor();
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByText("Register a webhook").first().waitFor();
    await page.evaluate("window.notReloaded = true");

    const created = await app.request("POST", "/api/v1/tasks", {
      key: org.api_key,
      body: { team_id: org.team_id, title: "Login broken on Safari", priority: "high", task_type: "bugfix", assignee_id: org.agents[0]!.id },
    });
    expect(created.status).toBe(201);
    const card = page.locator(`[data-testid="column-todo"] [data-testid="task-${created.body.id}"]`);
    await card.waitFor({ state: "attached" });
    await expect.poll(() => card.textContent()).toContain("Login broken on Safari");
    expect(await card.textContent()).toContain("eng-1");

    const moved = await app.request("PATCH", `/api/v1/tasks/${created.body.id}`, { key: org.api_key, body: { status: "in_progress" } });
    expect(moved.status).toBe(200);
    await page.locator(`[data-testid="column-in_progress"] [data-testid="task-${created.body.id}"]`).waitFor({ state: "attached" });
    expect(await page.locator(`[data-testid="column-todo"] [data-testid="task-${created.body.id}"]`).count()).toBe(0);

    // A signed GitHub delivery: its row appears in the log and its task on the board, live.
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], name: "Hello-World" });
    const opened = await sendDelivery(app.url, webhook, issuePayload("opened", { number: 77, title: "Dark mode flickers", labels: ["bug"], updated_at: "2026-11-28T10:00:00Z" }), { event: "issues" });
    expect(opened.status).toBe(202);
    await page.locator(`[data-webhook-id="${webhook.id}"]`).waitFor();
    await page.locator(`[data-webhook-id="${webhook.id}"]`).click();
    const row = page.locator(`#deliveries-body tr[data-delivery-id="${opened.body.delivery_id}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent()).toMatch(/issues\.opened.*processed.*created task #\d+/);
    const issueTask = await app.db.knex("tasks").where({ source_key: "github:issue:codertocat/hello-world#77" }).first();
    const issueCard = page.locator(`[data-testid="column-todo"] [data-testid="task-${issueTask.id}"]`);
    await issueCard.waitFor({ state: "attached" });
    expect(await issueCard.textContent()).toContain("Dark mode flickers");

    // The issue closes on GitHub: the card moves to done without a reload.
    const closed = await sendDelivery(app.url, webhook, issuePayload("closed", { number: 77, title: "Dark mode flickers", labels: ["bug"], updated_at: "2026-11-28T11:00:00Z" }), { event: "issues" });
    expect(closed.status).toBe(202);
    await page.locator(`[data-testid="column-done"] [data-testid="task-${issueTask.id}"]`).waitFor({ state: "attached" });
    expect(await page.locator(`[data-testid="column-todo"] [data-testid="task-${issueTask.id}"]`).count()).toBe(0);
    const closedRow = page.locator(`#deliveries-body tr[data-delivery-id="${closed.body.delivery_id}"]`);
    await expect.poll(() => closedRow.textContent(), { timeout: 10_000 }).toMatch(/issues\.closed.*processed/);

    // A pull request opens: its review appears in the queue, assigned, without a reload.
    const pr = await sendDelivery(app.url, webhook, pullRequestPayload("opened", { number: 88, body: "Dark mode fix" }), { event: "pull_request" });
    expect(pr.status).toBe(202);
    const reviewItem = page.locator("#reviews li.review").filter({ hasText: "Codertocat/Hello-World#88" });
    await page.getByRole("link", { name: "Overview" }).click();
    await reviewItem.waitFor();
    await expect.poll(() => reviewItem.textContent()).toMatch(/pending.*eng-\d/);

    expect(await page.evaluate("window.notReloaded")).toBe(true);
    expect(pageErrors).toEqual([]);
    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  });
});
