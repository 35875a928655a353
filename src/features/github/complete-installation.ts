import type { Knex } from "knex";
import { listTeams } from "../teams/teams.store.js";
import type { WebhookDeps } from "../webhooks/webhooks.service.js";
import type { GithubClient } from "./github-client.js";
import { findInstallation, upsertInstallation } from "./github-installations.store.js";
import { linkInstallationToOrg, type LinkResult } from "./link-installation.js";

// GitHub's and our clocks may disagree a little.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Why an install round trip links nothing, in words for the browser. */
export class InstallationNotLinkedError extends Error {}

interface GithubInstallation {
  id: number;
  account?: { login?: string; type?: string } | null;
  repository_selection?: string;
  created_at?: string;
  updated_at?: string;
  suspended_at?: string | null;
}

/**
 * The end of GitHub's install round trip (the state was spent already, so it was minted for `orgId` at `stateCreatedAt`):
 * 1. the installation must exist for this App (`GET /app/installations/{id}`, App JWT) and have been
 *    created or changed since the state was minted — an installation id in a URL proves nothing by itself;
 * 2. it must not be linked to another org;
 * 3. it is linked to the org's first team, which gets (or keeps) a github webhook routing it.
 */
export async function completeInstallation(
  deps: WebhookDeps & { knex: Knex; github: GithubClient },
  orgId: string,
  stateCreatedAt: Date,
  installationId: number,
): Promise<LinkResult> {
  const app = await deps.github.appOctokit();
  let installation: GithubInstallation;
  try {
    installation = (await app.request("GET /app/installations/{installation_id}", { installation_id: installationId })).data as GithubInstallation;
  } catch (error) {
    if ((error as { status?: number }).status === 404) throw new InstallationNotLinkedError(`GitHub knows no installation ${installationId} of this App.`);
    throw error;
  }
  const changedAt = Date.parse(installation.updated_at ?? installation.created_at ?? "");
  if (!(changedAt >= stateCreatedAt.getTime() - CLOCK_SKEW_MS)) {
    throw new InstallationNotLinkedError(`Installation ${installationId} was not created or changed during this setup, so it proves nothing: install the App from Entourage's dashboard.`);
  }
  const known = await findInstallation(deps.knex, installationId);
  if (known?.org_id && known.org_id !== orgId) throw new InstallationNotLinkedError(`Installation ${installationId} is linked to another org.`);
  await upsertInstallation(deps.knex, {
    id: installationId,
    account_login: installation.account?.login ?? "unknown",
    account_type: installation.account?.type ?? null,
    repository_selection: installation.repository_selection ?? null,
    suspended_at: installation.suspended_at ? new Date(installation.suspended_at) : null,
  });
  const [team] = await listTeams(deps.knex, orgId);
  if (!team) throw new InstallationNotLinkedError("Your org has no team to route the installation to: create one first.");
  return linkInstallationToOrg(deps, installationId, { org_id: orgId, team_id: known?.org_id === orgId && known.team_id ? known.team_id : team.id });
}
