import type { Knex } from "knex";
import { ConflictError, InputError, NotFoundError } from "../../errors.js";
import { findOrg, findTeam } from "../teams/teams.store.js";
import { changeWebhook, createWebhook, type WebhookDeps } from "../webhooks/webhooks.service.js";
import { findGithubWebhookForInstallation } from "../webhooks/webhooks.store.js";
import type { GithubClient } from "./github-client.js";
import { findInstallation, linkInstallation, upsertInstallation, type InstallationLinkRow } from "./github-installations.store.js";

export interface LinkRequest {
  org_id: string;
  team_id?: string;
  /** Move an installation linked to another org. */
  replace?: boolean;
}

export interface LinkResult {
  installation: InstallationLinkRow;
  /** The org it was linked to before, when `replace` moved it. */
  replaced_org_id: string | null;
  /** The github webhook of the org that routes the installation's deliveries (when a team was named). */
  webhook_id: string | null;
}

/** The events a webhook made for a linked installation subscribes to. */
export const INSTALLATION_WEBHOOK_EVENTS = ["issues.*", "pull_request.*", "pull_request_review.*", "issue_comment.*"];

/**
 * Links an App installation to one org (the caller has proved it administers the instance):
 * 1. the org (and team, if named) must exist: 400 naming the field;
 * 2. an installation Entourage has not seen is looked up with the App's JWT (404 when GitHub
 *    knows none), or, without App credentials, recorded as announced;
 * 3. one linked to another org is a 409 unless `replace`;
 * 4. with a team: the org gets (or keeps) a github webhook routing the installation to it.
 */
export async function linkInstallationToOrg(
  deps: WebhookDeps & { github?: GithubClient },
  installationId: number,
  request: LinkRequest,
): Promise<LinkResult> {
  const { knex } = deps;
  if (!(await findOrg(knex, request.org_id))) throw new InputError("Invalid request", [{ field: "org_id", message: "no such org" }], "validation_failed");
  if (request.team_id && !(await findTeam(knex, request.org_id, request.team_id))) {
    throw new InputError("Invalid request", [{ field: "team_id", message: "no such team in that org" }], "validation_failed");
  }
  if (!(await findInstallation(knex, installationId))) await recordInstallation(knex, deps.github, installationId);

  const { installation, replaced } = await knex.transaction(async (trx) => {
    const current = await findInstallation(trx, installationId, { forUpdate: true });
    if (!current) throw new NotFoundError(`Installation ${installationId} not found (it was uninstalled meanwhile)`);
    if (current.org_id && current.org_id !== request.org_id && !request.replace) {
      throw new ConflictError(`Installation ${installationId} is linked to another org; send "replace": true to move it`, { org_id: current.org_id });
    }
    const teamId = request.team_id ?? (current.org_id === request.org_id ? current.team_id : null);
    const linked = await linkInstallation(trx, installationId, { org_id: request.org_id, team_id: teamId });
    return { installation: linked, replaced: current.org_id && current.org_id !== request.org_id ? current.org_id : null };
  });
  const webhookId = installation.team_id ? await ensureInstallationWebhook(deps, installation) : null;
  return { installation, replaced_org_id: replaced, webhook_id: webhookId };
}

async function recordInstallation(knex: Knex, github: GithubClient | undefined, installationId: number): Promise<void> {
  if (!github) {
    // No App credentials to ask GitHub with: the instance org's word is the proof; the App's events fill in the rest.
    await upsertInstallation(knex, { id: installationId, account_login: "unknown" });
    return;
  }
  const app = await github.appOctokit();
  let data: { id: number; account?: { login?: string; type?: string } | null; repository_selection?: string; suspended_at?: string | null };
  try {
    data = (await app.request("GET /app/installations/{installation_id}", { installation_id: installationId })).data as typeof data;
  } catch (error) {
    if ((error as { status?: number }).status === 404) throw new NotFoundError(`GitHub knows no installation ${installationId} of this App`);
    throw error;
  }
  await upsertInstallation(knex, {
    id: installationId,
    account_login: data.account?.login ?? "unknown",
    account_type: data.account?.type ?? null,
    repository_selection: data.repository_selection ?? null,
    suspended_at: data.suspended_at ? new Date(data.suspended_at) : null,
  });
}

/** The org's github webhook routing the installation, made (team, auto_assign) when it has none; `moveTeam` points it at the installation's team. */
export async function ensureInstallationWebhook(deps: WebhookDeps, installation: InstallationLinkRow, options: { moveTeam?: boolean } = {}): Promise<string> {
  const existing = await findGithubWebhookForInstallation(deps.knex, installation.org_id!, installation.id);
  if (existing) {
    if (options.moveTeam && existing.config.team_id !== installation.team_id) {
      await changeWebhook(deps, installation.org_id!, existing.id, { config: { ...existing.config, team_id: installation.team_id! } });
    }
    return existing.id;
  }
  const created = await createWebhook(deps, installation.org_id!, {
    name: `GitHub App installation ${installation.id} (${installation.account_login})`,
    provider: "github",
    events: INSTALLATION_WEBHOOK_EVENTS,
    config: { team_id: installation.team_id!, auto_assign: true, default_task_type: "bugfix", close_issue: false, installation_id: installation.id },
    active: true,
  });
  return created.id;
}
