import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startFakeGithub, type FakeGithub } from "../../helpers/fake-github.js";
import { githubAppEnv } from "../../helpers/github-app.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { request, startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

/** One step of a browser: no redirect followed, so each hop can be checked. */
async function browse(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    redirect: "manual",
    ...(init.form ? { body: new URLSearchParams(init.form).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } } : {}),
  });
  return { status: response.status, location: response.headers.get("location") ?? "", text: await response.text() };
}

describe("GitHub App in one click (manifest flow, install round trip) against a fake GitHub over HTTP", () => {
  let fake: FakeGithub;
  let first: TestApp;
  let second: TestApp;
  let instance: BootstrapResult;
  let other: BootstrapResult;
  const logLines: string[] = [];

  const appState = (app: TestApp, key: string) => app.request("GET", "/api/v1/github/app", { key });
  const startManifest = async () => {
    const res = await first.request("POST", "/api/v1/github/app/manifest", { key: instance.api_key, body: {} });
    expect(res.status).toBe(201);
    return res.body as { url: string; manifest: Record<string, any>; state: string };
  };

  beforeAll(async () => {
    fake = await startFakeGithub();
    const env = { GHE_HOST: fake.host, GHE_PROTOCOL: "http", GITHUB_RECOVERY_INTERVAL_SECONDS: "0" };
    first = await startTestApp(env, { logLines });
    second = await startTestApp(env, { database: first.db, logLines });
    instance = await first.bootstrap({ name: "instance" });
    other = await first.bootstrap({ name: "other" });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await fake?.close();
  });

  it("starts unconfigured, and only the instance org may register the App", async () => {
    expect((await appState(first, other.api_key)).body).toEqual({ configured: false, source: null, app: null, webhook_url: `${first.url}/api/github/webhooks`, setup_available: true, last_delivery_at: null });
    const refused = await first.request("POST", "/api/v1/github/app/manifest", { key: other.api_key, body: {} });
    expect(refused.status).toBe(403);
    expect((await first.request("POST", "/api/v1/github/app/manifest", { key: instance.api_key, body: { owner: "not a login!" } })).status).toBe(400);
  });

  it("answers the manifest (app.yml pointed at this instance) and where the browser posts it", async () => {
    const { url, manifest, state } = await startManifest();
    expect(url).toBe(`${fake.url}/settings/apps/new?state=${state}`);
    expect(manifest).toMatchObject({
      name: "Entourage",
      hook_attributes: { url: `${first.url}/api/github/webhooks` },
      redirect_url: `${first.url}/api/github/setup/callback`,
      setup_url: `${first.url}/api/github/setup/installed`,
      public: false,
      default_events: expect.arrayContaining(["issues", "pull_request"]),
    });
    const owned = await first.request("POST", "/api/v1/github/app/manifest", { key: instance.api_key, body: { owner: "acme" } });
    expect(owned.body.url).toMatch(new RegExp(`^${fake.url}/organizations/acme/settings/apps/new\\?state=`));
  });

  it("refuses forged, expired and refused-code callbacks with a page saying what to do, storing nothing", async () => {
    const forged = await browse(`${first.url}/api/github/setup/callback?code=code-1&state=forged`);
    expect(forged.status).toBe(400);
    expect(forged.text).toMatch(/not valid.*Start again/s);

    const expired = await startManifest();
    await first.db.knex("github_setup_states").update({ expires_at: new Date(Date.now() - 1000) }).whereNull("used_at").where({ purpose: "manifest" });
    expect((await browse(`${first.url}/api/github/setup/callback?code=code-1&state=${expired.state}`)).status).toBe(400);

    const refusedCode = await startManifest();
    const refused = await browse(`${first.url}/api/github/setup/callback?code=never-issued&state=${refusedCode.state}`);
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/GitHub refused the code \(404/);
    expect(await first.db.knex("github_app_credentials")).toEqual([]);
    expect((await appState(first, instance.api_key)).body.configured).toBe(false);
  });

  it("registers, installs and routes: App path on in a second instance without restart, an issue becomes a task", async () => {
    // 1. The browser posts the manifest to GitHub, which sends it back to the callback with a code.
    const { url, manifest, state } = await startManifest();
    const created = await browse(url, { method: "POST", form: { manifest: JSON.stringify(manifest) } });
    expect(created.location).toMatch(new RegExp(`^${first.url}/api/github/setup/callback\\?code=`));
    // 2. The callback exchanges the code and sends the browser on to install the App, with a new state.
    const callback = await browse(created.location);
    expect(callback.status).toBe(302);
    expect(callback.location).toMatch(new RegExp(`^${fake.app.html_url}/installations/new\\?state=`));
    expect(new URL(callback.location).searchParams.get("state")).not.toBe(state);
    expect((await browse(created.location)).status).toBe(400); // a state is used once
    // 3. GitHub, after the installation, sends the browser to the setup URL; Entourage links it and shows the dashboard.
    const installed = await browse(callback.location);
    const setup = await browse(installed.location);
    expect(setup).toMatchObject({ status: 302, location: "/?github=installed" });
    const installationId = Number(new URL(installed.location).searchParams.get("installation_id"));
    expect(await first.db.knex("github_installations").where({ id: installationId }).first()).toMatchObject({ org_id: instance.org_id, team_id: instance.team_id });
    expect((await browse(installed.location)).status).toBe(400); // replayed: nothing more

    // The other instance turns the App path on by itself (it re-reads the stored credentials every 5 s).
    const shown = await waitFor(async () => {
      const res = await appState(second, other.api_key);
      return res.body.configured && res.body;
    }, "the second instance to see the App", 12_000);
    expect(shown).toMatchObject({ source: "database", app: { id: fake.app.id, slug: fake.app.slug, name: fake.app.name, html_url: fake.app.html_url }, setup_available: true });

    // 4. A signed issues.opened from the installation, to the second instance: a task in the linked team.
    const payload = issuePayload("opened", { number: 71, repository: "acme/widgets" });
    payload.installation = { id: installationId };
    const body = JSON.stringify(payload);
    const delivered = await request(second.url, "POST", "/api/github/webhooks", {
      body,
      headers: { "content-type": "application/json", "x-github-event": "issues", "x-github-delivery": "setup-flow-1", "x-hub-signature-256": await sign(fake.app.webhook_secret, body) },
    });
    expect(delivered.status).toBe(200);
    const task = await waitFor(() => first.db.knex("tasks").where({ org_id: instance.org_id, source_key: "github:issue:acme/widgets#71" }).first(), "the task");
    expect(task.team_id).toBe(instance.team_id);
    expect(task.assignee_id).not.toBeNull();
    // The last App delivery time is the linked org's, not anyone else's.
    const received = (await first.db.knex("deliveries").where({ org_id: instance.org_id, via: "app" }).max({ at: "created_at" }).first()) as { at: Date };
    expect((await appState(first, instance.api_key)).body.last_delivery_at).toBe(new Date(received.at).toISOString());
    expect((await appState(first, other.api_key)).body.last_delivery_at).toBeNull();

    // Its repositories are learnt from the delivery; the org lists the installation and may move it to another team.
    const listed = await first.request("GET", "/api/v1/github/installations", { key: instance.api_key });
    expect(listed.body).toEqual([
      { id: installationId, account_login: "acme", account_type: "Organization", repository_selection: "selected", repositories: [{ full_name: "acme/widgets" }], webhook_id: expect.any(String), team_id: instance.team_id, suspended: false },
    ]);
    expect((await first.request("GET", "/api/v1/github/installations", { key: other.api_key })).body).toEqual([]);
    const team = await first.request("POST", "/api/v1/teams", { key: instance.api_key, body: { name: "platform" } });
    const moved = await first.request("PATCH", `/api/v1/github/installations/${installationId}`, { key: instance.api_key, body: { team_id: team.body.id } });
    expect(moved.status).toBe(200);
    expect(moved.body.team_id).toBe(team.body.id);
    const webhook = await first.request("GET", `/api/v1/webhooks/${listed.body[0].webhook_id}`, { key: instance.api_key });
    expect(webhook.body.config).toMatchObject({ team_id: team.body.id, installation_id: installationId, auto_assign: true });
    expect((await first.request("PATCH", `/api/v1/github/installations/${installationId}`, { key: other.api_key, body: { team_id: other.team_id } })).status).toBe(404);

    // Registered already: a second registration needs "replace": true.
    expect((await first.request("POST", "/api/v1/github/app/manifest", { key: instance.api_key, body: {} })).status).toBe(409);

    // Credentials never appear in an API answer, an event or a log line.
    expect(logLines.join("")).toMatch(/GitHub App registered through the manifest flow/);
    const secrets = [fake.app.pem.split("\n")[1]!, fake.app.webhook_secret, fake.app.client_secret];
    const answers = [JSON.stringify((await appState(first, instance.api_key)).body), JSON.stringify(listed.body), JSON.stringify(await first.db.knex("events").select("data")), logLines.join("")];
    for (const secret of secrets) for (const answer of answers) expect(answer).not.toContain(secret);
    const stored = JSON.stringify(await first.db.knex("github_app_credentials").first());
    for (const secret of secrets) expect(stored).not.toContain(secret);
  });

  it("links nothing from a forged state, an old installation, or one linked to another org", async () => {
    const forged = await browse(`${first.url}/api/github/setup/installed?installation_id=5001&setup_action=install&state=forged`);
    expect(forged.status).toBe(400);
    expect(forged.text).toMatch(/Nothing was linked/);

    // An installation made before the state was minted proves nothing.
    fake.installations.set(6000, { id: 6000, account: { login: "victimco", type: "Organization" }, repository_selection: "all", created_at: "2020-01-01T00:00:00Z", updated_at: "2020-01-01T00:00:00Z" });
    const minted = await first.request("POST", "/api/v1/github/app/install", { key: other.api_key });
    expect(minted.status).toBe(201);
    expect(minted.body.url).toMatch(new RegExp(`^${fake.app.html_url}/installations/new\\?state=`));
    const old = await browse(`${first.url}/api/github/setup/installed?installation_id=6000&setup_action=install&state=${minted.body.state}`);
    expect(old.status).toBe(400);
    expect(old.text).toMatch(/proves nothing/);
    expect(await first.db.knex("github_installations").where({ id: 6000 })).toEqual([]);

    // The instance org's installation, claimed through another org's fresh state.
    const linked = (await first.db.knex("github_installations").where({ org_id: instance.org_id }).first()).id;
    fake.installations.get(Number(linked))!.updated_at = new Date().toISOString();
    const again = await first.request("POST", "/api/v1/github/app/install", { key: other.api_key });
    const stolen = await browse(`${first.url}/api/github/setup/installed?installation_id=${linked}&setup_action=update&state=${again.body.state}`);
    expect(stolen.status).toBe(400);
    expect(stolen.text).toMatch(/linked to another org/);
    expect(await first.db.knex("github_installations").where({ id: linked }).first()).toMatchObject({ org_id: instance.org_id });
  });
});

describe("GitHub App credentials from the environment", () => {
  let app: TestApp;
  afterAll(() => app?.close());

  it("win over the setup flow: source env, and registering another is a 409", async () => {
    app = await startTestApp(githubAppEnv());
    const org = await app.bootstrap();
    const res = await app.request("GET", "/api/v1/github/app", { key: org.api_key });
    expect(res.body).toMatchObject({ configured: true, source: "env", app: { id: 4242 }, setup_available: false });
    expect((await app.request("POST", "/api/v1/github/app/manifest", { key: org.api_key, body: { replace: true } })).status).toBe(409);
  });
});
