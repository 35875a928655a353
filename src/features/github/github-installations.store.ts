import type { Queryable } from "../../db/create-db.js";

export interface InstallationInput {
  id: number;
  account_login: string;
  account_type?: string | null;
  repository_selection?: string | null;
  suspended_at?: Date | null;
}

export interface RepositoryRef {
  id: number;
  full_name: string;
}

/** Creates or refreshes an installation row. */
export async function upsertInstallation(db: Queryable, installation: InstallationInput): Promise<void> {
  const row = {
    id: installation.id,
    account_login: installation.account_login,
    account_type: installation.account_type ?? null,
    repository_selection: installation.repository_selection ?? null,
    suspended_at: installation.suspended_at ?? null,
  };
  await db("github_installations")
    .insert(row)
    .onConflict("id")
    .merge({ ...row, updated_at: db.fn.now() });
}

/** Forgets an uninstalled App installation and its repositories. */
export async function deleteInstallation(db: Queryable, installationId: number): Promise<void> {
  await db("github_installations").where({ id: installationId }).delete();
}

export async function setInstallationSuspended(db: Queryable, installationId: number, suspendedAt: Date | null): Promise<void> {
  await db("github_installations").where({ id: installationId }).update({ suspended_at: suspendedAt, updated_at: db.fn.now() });
}

export async function addInstallationRepositories(db: Queryable, installationId: number, repositories: RepositoryRef[]): Promise<void> {
  if (!repositories.length) return;
  await db("github_installation_repositories")
    .insert(repositories.map((repo) => ({ installation_id: installationId, repository_id: repo.id, full_name: repo.full_name })))
    .onConflict(["installation_id", "repository_id"])
    .merge(["full_name"]);
}

export async function removeInstallationRepositories(db: Queryable, installationId: number, repositoryIds: number[]): Promise<void> {
  if (!repositoryIds.length) return;
  await db("github_installation_repositories").where({ installation_id: installationId }).whereIn("repository_id", repositoryIds).delete();
}

/** The installation that covers `owner/name` (case-insensitive), if the App's events told us about it. */
export async function findInstallationIdForRepository(db: Queryable, repository: string): Promise<number | undefined> {
  const row = (await db("github_installation_repositories as r")
    .join("github_installations as i", "i.id", "r.installation_id")
    .select("r.installation_id")
    .whereRaw("lower(r.full_name) = lower(?)", [repository])
    .whereNull("i.suspended_at")
    .orderBy("r.added_at", "desc")
    .first()) as { installation_id: number } | undefined;
  return row?.installation_id;
}
