import type { Queryable } from "../../db/create-db.js";
import type { OrgInstallationView } from "./github.schema.js";

export type { OrgInstallationView };

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

export interface InstallationLinkRow {
  id: number;
  account_login: string;
  account_type: string | null;
  repository_selection: string | null;
  suspended_at: Date | null;
  org_id: string | null;
  team_id: string | null;
  linked_at: Date | null;
}

const LINK_COLUMNS = ["id", "account_login", "account_type", "repository_selection", "suspended_at", "org_id", "team_id", "linked_at"] as const;

function toLinkRow(row: InstallationLinkRow & { id: number | string }): InstallationLinkRow {
  return { ...row, id: Number(row.id) };
}

/** An installation with its link (org, team), locked for the linking transaction when asked. */
export async function findInstallation(db: Queryable, installationId: number, options: { forUpdate?: boolean } = {}): Promise<InstallationLinkRow | undefined> {
  const q = db("github_installations").select(LINK_COLUMNS).where({ id: installationId });
  if (options.forUpdate) q.forUpdate();
  const row = (await q.first()) as InstallationLinkRow | undefined;
  return row && toLinkRow(row);
}

/** Links an installation to one org (and optionally a team), replacing any earlier link. */
export async function linkInstallation(db: Queryable, installationId: number, link: { org_id: string; team_id: string | null }): Promise<InstallationLinkRow> {
  const [row] = await db("github_installations")
    .where({ id: installationId })
    .update({ org_id: link.org_id, team_id: link.team_id, linked_at: db.fn.now(), updated_at: db.fn.now() })
    .returning(LINK_COLUMNS);
  return toLinkRow(row as InstallationLinkRow);
}

/** The installation linked to `orgId` that covers `owner/name` (case-insensitive), as the App's events recorded it. */
export async function findLinkedInstallationForRepository(db: Queryable, orgId: string, repository: string): Promise<number | undefined> {
  const row = (await db("github_installation_repositories as r")
    .join("github_installations as i", "i.id", "r.installation_id")
    .select("r.installation_id")
    .where("i.org_id", orgId)
    .whereRaw("lower(r.full_name) = lower(?)", [repository])
    .whereNull("i.suspended_at")
    .orderBy("r.added_at", "desc")
    .first()) as { installation_id: number | string } | undefined;
  return row ? Number(row.installation_id) : undefined;
}

/** The ids of the installations linked to `orgId` (not suspended). */
export async function listLinkedInstallationIds(db: Queryable, orgId: string): Promise<number[]> {
  const rows = (await db("github_installations").select("id").where({ org_id: orgId }).whereNull("suspended_at")) as { id: number | string }[];
  return rows.map((row) => Number(row.id));
}

/** Sets the team an org's installation routes to. */
export async function setInstallationTeam(db: Queryable, installationId: number, teamId: string): Promise<InstallationLinkRow> {
  const [row] = await db("github_installations").where({ id: installationId }).update({ team_id: teamId, updated_at: db.fn.now() }).returning(LINK_COLUMNS);
  return toLinkRow(row as InstallationLinkRow);
}

/** An org's linked installations with the repositories known to be covered and the github webhook routing each. */
export async function listOrgInstallations(db: Queryable, orgId: string): Promise<OrgInstallationView[]> {
  const rows = (await db("github_installations as i")
    .select(
      "i.id",
      "i.account_login",
      "i.account_type",
      "i.repository_selection",
      "i.team_id",
      "i.suspended_at",
      db.raw(
        `coalesce((SELECT json_agg(json_build_object('full_name', r.full_name) ORDER BY lower(r.full_name)) FROM github_installation_repositories r WHERE r.installation_id = i.id), '[]') AS repositories`,
      ),
      db.raw(
        `(SELECT w.id FROM webhooks w WHERE w.org_id = i.org_id AND w.provider = 'github' AND (w.config->>'installation_id')::bigint = i.id ORDER BY w.created_at LIMIT 1) AS webhook_id`,
      ),
    )
    .where("i.org_id", orgId)
    .orderBy("i.linked_at")) as (Omit<OrgInstallationView, "suspended"> & { id: string | number; suspended_at: Date | null })[];
  return rows.map(({ suspended_at, ...row }) => ({ ...row, id: Number(row.id), suspended: suspended_at !== null }));
}

/**
 * Learns from any App delivery which repository its installation covers (GitHub names both in
 * every repository event), so an App installed before Entourage first ran routes and lists correctly.
 */
export async function learnInstallationRepository(
  db: Queryable,
  installationId: number,
  repository: { id: number; full_name: string; owner_login?: string },
): Promise<void> {
  await db.raw(
    `WITH inst AS (
       INSERT INTO github_installations (id, account_login) VALUES (?, ?) ON CONFLICT (id) DO NOTHING
     )
     INSERT INTO github_installation_repositories (installation_id, repository_id, full_name) VALUES (?, ?, ?)
     ON CONFLICT (installation_id, repository_id) DO UPDATE SET full_name = excluded.full_name
       WHERE github_installation_repositories.full_name IS DISTINCT FROM excluded.full_name`,
    [installationId, repository.owner_login ?? repository.full_name.split("/")[0] ?? "unknown", installationId, repository.id, repository.full_name],
  );
}

/** Which of `names` (lower-cased) an installation linked to the org is known to cover. */
export async function listLinkedRepositoryNames(db: Queryable, orgId: string, names: string[]): Promise<Set<string>> {
  const rows = (await db("github_installation_repositories as r")
    .join("github_installations as i", "i.id", "r.installation_id")
    .where("i.org_id", orgId)
    .whereRaw("lower(r.full_name) = ANY(?::text[])", [names.map((name) => name.toLowerCase())])
    .select(db.raw("lower(r.full_name) as name"))) as { name: string }[];
  return new Set(rows.map((row) => row.name));
}
