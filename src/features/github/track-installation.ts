import type { Queryable } from "../../db/create-db.js";
import {
  addInstallationRepositories,
  deleteInstallation,
  learnInstallationRepository,
  removeInstallationRepositories,
  setInstallationSuspended,
  upsertInstallation,
  type RepositoryRef,
} from "./github-installations.store.js";

interface InstallationPayload {
  action?: string;
  installation?: { id?: number; account?: { login?: string; type?: string } | null; repository_selection?: string; suspended_at?: string | null };
  repositories?: RepositoryRef[];
  repositories_added?: RepositoryRef[];
  repositories_removed?: RepositoryRef[];
}

/**
 * Keeps `github_installations` and their repositories in step with the App's
 * `installation` and `installation_repositories` events; any other event teaches which
 * repository its installation covers.
 */
export async function trackInstallation(db: Queryable, eventName: string, payload: Record<string, unknown>): Promise<void> {
  if (eventName !== "installation" && eventName !== "installation_repositories") return learnRepository(db, payload);
  const { action, installation, repositories, repositories_added, repositories_removed } = payload as InstallationPayload;
  const id = installation?.id;
  if (typeof id !== "number") return;
  if (eventName === "installation" && action === "deleted") {
    await deleteInstallation(db, id);
    return;
  }
  await upsertInstallation(db, {
    id,
    account_login: installation?.account?.login ?? "unknown",
    account_type: installation?.account?.type ?? null,
    repository_selection: installation?.repository_selection ?? null,
    suspended_at: installation?.suspended_at ? new Date(installation.suspended_at) : null,
  });
  if (eventName === "installation") {
    if (action === "suspend") await setInstallationSuspended(db, id, new Date(installation?.suspended_at ?? Date.now()));
    if (action === "unsuspend") await setInstallationSuspended(db, id, null);
    await addInstallationRepositories(db, id, validRepositories(repositories));
    return;
  }
  await addInstallationRepositories(db, id, validRepositories(repositories_added));
  await removeInstallationRepositories(db, id, validRepositories(repositories_removed).map((repo) => repo.id));
}

function validRepositories(list: RepositoryRef[] | undefined): RepositoryRef[] {
  return (list ?? []).filter((repo) => typeof repo?.id === "number" && typeof repo.full_name === "string");
}

async function learnRepository(db: Queryable, payload: Record<string, unknown>): Promise<void> {
  const installationId = (payload.installation as { id?: unknown } | undefined)?.id;
  const repository = payload.repository as { id?: unknown; full_name?: unknown; owner?: { login?: unknown } } | undefined;
  if (typeof installationId !== "number" || typeof repository?.id !== "number" || typeof repository.full_name !== "string") return;
  const owner = typeof repository.owner?.login === "string" ? repository.owner.login : undefined;
  await learnInstallationRepository(db, installationId, { id: repository.id, full_name: repository.full_name, owner_login: owner });
}
