import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { ConflictError, UnavailableError } from "../../errors.js";
import { parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { requireInstanceOrg } from "../orgs/instance-org.js";
import { findLastAppDeliveryAt } from "../webhooks/deliveries.store.js";
import { appManifest, appWebhookUrl, manifestFormUrl } from "./app-manifest.js";
import type { GithubAppView, InstallUrlView, ManifestView } from "./github.schema.js";
import { mintSetupState } from "./setup-states.store.js";

export const manifestBody = z.strictObject({
  // A GitHub organization login (the App is then owned by that organization).
  owner: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub organization login").optional(),
  replace: z.boolean().default(false),
});

/** The App itself: what is configured, registering it from the manifest, and installing it. */
export function createGithubAppRouter(ctx: AppContext): Router {
  const router = Router();

  /** Any org may read it; never a secret in it. */
  router.get("/github/app", async (req, res) => {
    const runtime = ctx.githubApp;
    const source = runtime?.source() ?? null;
    const view: GithubAppView = {
      configured: source !== null,
      source,
      app: runtime?.info() ?? null,
      webhook_url: appWebhookUrl(ctx.config),
      setup_available: source !== "env",
      last_delivery_at: await findLastAppDeliveryAt(ctx.knex, requestAuth(req).orgId),
    };
    res.json(view);
  });

  /** The instance org starts GitHub's manifest flow: where the browser posts the manifest, with a single-use state. */
  router.post("/github/app/manifest", async (req, res) => {
    const { orgId } = requestAuth(req);
    await requireInstanceOrg(ctx.knex, ctx.config.ENTOURAGE_INSTANCE_ORG_ID, orgId, "register or replace the GitHub App");
    const body = parseInput(manifestBody, req.body ?? {});
    const source = ctx.githubApp?.source() ?? null;
    if (source === "env") throw new ConflictError("The GitHub App is configured by APP_ID, PRIVATE_KEY and WEBHOOK_SECRET, which win over a registered one: unset them first");
    if (source && !body.replace) throw new ConflictError('A GitHub App is configured already; send "replace": true to register another');
    const state = await mintSetupState(ctx.knex, orgId, "manifest");
    const view: ManifestView = { url: manifestFormUrl(ctx.config, state, body.owner), manifest: appManifest(ctx.config), state };
    res.status(201).json(view);
  });

  /** Where to send the browser to install the App; the state links what gets installed to the caller's org. */
  router.post("/github/app/install", async (req, res) => {
    const htmlUrl = await appHtmlUrl(ctx);
    const state = await mintSetupState(ctx.knex, requestAuth(req).orgId, "install");
    const view: InstallUrlView = { url: `${htmlUrl}/installations/new?state=${encodeURIComponent(state)}`, state };
    res.status(201).json(view);
  });

  return router;
}

/** The App's page on GitHub: stored by the setup flow, or asked of GitHub (`GET /app`) for environment credentials. */
async function appHtmlUrl(ctx: AppContext): Promise<string> {
  const runtime = ctx.githubApp;
  const known = runtime?.info()?.html_url;
  if (known) return known;
  const client = runtime?.client();
  if (!client) throw new UnavailableError("The GitHub App is not configured yet: register it first (POST /api/v1/github/app/manifest)");
  const { data } = await (await client.appOctokit()).request("GET /app");
  return (data as { html_url: string }).html_url;
}
