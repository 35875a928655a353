import { Router, type Response } from "express";
import type { AppContext } from "../../app-context.js";
import { convertAppManifest, ManifestConversionError } from "./convert-app-manifest.js";
import { completeInstallation, InstallationNotLinkedError } from "./complete-installation.js";
import { saveAppCredentials } from "./github-app-credentials.store.js";
import { mintSetupState, spendSetupState } from "./setup-states.store.js";

/**
 * The browser's way back from GitHub (no API key: the single-use state is the credential):
 * - /api/github/setup/callback: after registering the App from the manifest → store its credentials → on to installing it;
 * - /api/github/setup/installed: after installing it → link the installation to the state's org → the dashboard.
 * Anything wrong is a plain page saying what to do, and changes nothing.
 */
export function createGithubSetupRouter(ctx: AppContext): Router {
  const router = Router();
  const logger = ctx.logger.child({ component: "github-setup" });

  router.get("/api/github/setup/callback", async (req, res) => {
    const code = typeof req.query.code === "string" ? req.query.code : "";
    const state = typeof req.query.state === "string" ? req.query.state : "";
    if (!code || !state) return page(res, 400, "Missing code or state", "Start again from the dashboard's Connect GitHub panel.");
    const spent = await spendSetupState(ctx.knex, state, "manifest");
    if (!spent) return page(res, 400, "This setup link is not valid", "It is unknown, was used already, or is more than an hour old. Start again from the dashboard's Connect GitHub panel.");
    let app;
    try {
      app = await convertAppManifest(ctx.config, code);
    } catch (error) {
      if (!(error instanceof ManifestConversionError)) throw error;
      logger.warn({ status: error.status }, "GitHub refused the App manifest code");
      return page(res, 400, "GitHub did not hand over the App", `${error.message}. Start again from the dashboard's Connect GitHub panel.`);
    }
    await saveAppCredentials(ctx.knex, ctx.secrets.encryptionKey, app, spent.org_id);
    logger.info({ appId: app.id, slug: app.slug }, "GitHub App registered through the manifest flow; credentials stored");
    await ctx.githubApp?.refresh();
    const install = await mintSetupState(ctx.knex, spent.org_id, "install");
    res.redirect(302, `${app.html_url}/installations/new?state=${encodeURIComponent(install)}`);
  });

  router.get("/api/github/setup/installed", async (req, res) => {
    const state = typeof req.query.state === "string" ? req.query.state : "";
    const installationId = Number(req.query.installation_id);
    if (!state || !Number.isSafeInteger(installationId) || installationId <= 0) {
      return page(res, 400, "Nothing was linked", "This page needs the state Entourage gave GitHub and an installation id: install the App from the dashboard.");
    }
    const github = ctx.githubApp?.client();
    if (!github) return page(res, 400, "Nothing was linked", "The GitHub App is not configured on this Entourage yet.");
    const spent = await spendSetupState(ctx.knex, state, "install");
    if (!spent) return page(res, 400, "Nothing was linked", "The state is unknown, was used already, or is more than an hour old: install the App from the dashboard again.");
    try {
      const linked = await completeInstallation({ knex: ctx.knex, encryptionKey: ctx.secrets.encryptionKey, publicUrl: ctx.config.PUBLIC_URL, github }, spent.org_id, spent.created_at, installationId);
      logger.info({ installationId, orgId: spent.org_id, webhookId: linked.webhook_id }, "GitHub App installation linked through the install round trip");
    } catch (error) {
      if (error instanceof InstallationNotLinkedError) return page(res, 400, "Nothing was linked", error.message);
      throw error;
    }
    res.redirect(302, "/?github=installed");
  });

  return router;
}

function page(res: Response, status: number, title: string, text: string): void {
  const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .status(status)
    .type("html")
    .set("Content-Security-Policy", "default-src 'none'")
    .send(`<!doctype html><meta charset="utf-8"><title>Entourage: ${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p><p><a href="/">Back to the dashboard</a></p>`);
}
