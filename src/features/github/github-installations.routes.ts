import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { InputError, NotFoundError } from "../../errors.js";
import { parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { requireInstanceOrg } from "../orgs/instance-org.js";
import { findTeam } from "../teams/teams.store.js";
import type { WebhookDeps } from "../webhooks/webhooks.service.js";
import { findInstallation, listOrgInstallations, setInstallationTeam } from "./github-installations.store.js";
import type { InstallationLinkView } from "./github.schema.js";
import { ensureInstallationWebhook, linkInstallationToOrg } from "./link-installation.js";

export const linkBody = z.strictObject({
  org_id: z.uuid(),
  team_id: z.uuid().optional(),
  replace: z.boolean().default(false),
});

/** GitHub installation ids are positive integers (bigint in PostgreSQL). */
function installationIdParam(raw: unknown): number {
  const id = typeof raw === "string" && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new InputError("Invalid request", [{ field: "id", message: "must be a GitHub installation id (a positive integer)" }], "validation_failed");
  }
  return id;
}

export const patchBody = z.strictObject({ team_id: z.uuid() });

/** Installations: the instance org links them to orgs; each org lists its own and picks their team. */
export function createGithubInstallationsRouter(ctx: AppContext): Router {
  const router = Router();
  const deps = (): WebhookDeps => ({ knex: ctx.knex, encryptionKey: ctx.secrets.encryptionKey, publicUrl: ctx.config.PUBLIC_URL });

  /** The instance org links an App installation to an org (and, with a team, routes it there). */
  router.post("/github/installations/:id/link", async (req, res) => {
    const id = installationIdParam(req.params.id);
    await requireInstanceOrg(ctx.knex, ctx.config.ENTOURAGE_INSTANCE_ORG_ID, requestAuth(req).orgId, "link GitHub App installations to orgs");
    const body = parseInput(linkBody, req.body);
    const result = await linkInstallationToOrg(
      { ...deps(), github: ctx.github },
      id,
      body,
    );
    const { installation } = result;
    const view: InstallationLinkView = {
      id: installation.id,
      account_login: installation.account_login,
      org_id: installation.org_id,
      team_id: installation.team_id,
      linked_at: installation.linked_at,
      webhook_id: result.webhook_id,
      replaced_org_id: result.replaced_org_id,
    };
    res.json(view);
  });

  /** The caller's linked installations, with the repositories known to be covered and the webhook that routes them. */
  router.get("/github/installations", async (req, res) => {
    res.json(await listOrgInstallations(ctx.knex, requestAuth(req).orgId));
  });

  /** Moves one of the caller's installations to another of its teams (its routing webhook follows). */
  router.patch("/github/installations/:id", async (req, res) => {
    const id = installationIdParam(req.params.id);
    const { orgId } = requestAuth(req);
    const body = parseInput(patchBody, req.body);
    const installation = await findInstallation(ctx.knex, id);
    if (!installation || installation.org_id !== orgId) throw new NotFoundError(`Installation ${id} not found`);
    if (!(await findTeam(ctx.knex, orgId, body.team_id))) throw new InputError("Invalid request", [{ field: "team_id", message: "no such team in this org" }], "validation_failed");
    const moved = await setInstallationTeam(ctx.knex, id, body.team_id);
    await ensureInstallationWebhook(deps(), moved, { moveTeam: true });
    const [view] = (await listOrgInstallations(ctx.knex, orgId)).filter((row) => row.id === id);
    res.json(view);
  });

  return router;
}
