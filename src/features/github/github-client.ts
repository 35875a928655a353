import type { Knex } from "knex";
import type { Probot } from "probot";
import { UnprocessableError } from "../../errors.js";
import { findLinkedInstallationForRepository, listLinkedInstallationIds } from "./github-installations.store.js";

const LOOKUP_TTL_MS = 10 * 60 * 1000;

/** An authenticated Octokit from Probot (retry, throttling and enterprise plugins included). */
export type GithubOctokit = Awaited<ReturnType<Probot["auth"]>>;

/** A changed file of a pull request, as GitHub lists it. */
export type PullRequestFile = {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
  changes?: number;
  /** The diff hunks; absent for binary or very large files. */
  patch?: string;
  previous_filename?: string;
};

/** Thrown when the App is not installed on a repository (so nothing can be written there). */
export class GithubAppNotInstalledError extends Error {
  constructor(readonly repository: string) {
    super(`The Entourage GitHub App is not installed on ${repository}: install it there (README: GitHub App) so Entourage can write to it`);
    this.name = "GithubAppNotInstalledError";
  }
}

/** Thrown when no installation linked to the org covers a repository: the App may not act there for that org. */
export class GithubInstallationNotLinkedError extends Error {
  constructor(readonly repository: string) {
    super(
      `no GitHub App installation linked to this org covers ${repository} (the instance org links installations with POST /api/v1/github/installations/{id}/link; README: GitHub installations and webhook secrets)`,
    );
    this.name = "GithubInstallationNotLinkedError";
  }
}

/**
 * The one GitHub client every feature that talks to GitHub uses. Installation tokens come from
 * Probot's auth, which caches them (one token request per installation per ~hour); the
 * installation of a repository is known from the App's events, or asked of GitHub with the
 * App's JWT for webhooks registered by hand.
 */
export class GithubClient {
  /** Installations GitHub told us about for repositories the App's events never named. */
  private readonly looked = new Map<string, { id: number; until: number }>();

  constructor(
    private readonly probot: Probot,
    private readonly knex: Knex,
  ) {}

  /** Authenticated as the App itself (JWT): the /app endpoints. */
  appOctokit(): Promise<GithubOctokit> {
    return this.probot.auth();
  }

  /** Authenticated as an installation. */
  installationOctokit(installationId: number): Promise<GithubOctokit> {
    return this.probot.auth(installationId);
  }

  /**
   * The installation that may act for `orgId` on `owner/name`: one linked to the org that the
   * App's events recorded as covering the repository; else, when the org has linked
   * installations, GitHub's answer (App JWT) if it names one of them. Anything else throws:
   * an installation id from a payload or a config field is never used.
   */
  async installationFor(orgId: string, repository: string): Promise<number> {
    const tracked = await findLinkedInstallationForRepository(this.knex, orgId, repository);
    if (tracked) return tracked;
    const linked = await listLinkedInstallationIds(this.knex, orgId);
    if (!linked.length) throw new GithubInstallationNotLinkedError(repository);
    const covering = await this.lookUpInstallation(repository);
    if (!linked.includes(covering)) throw new GithubInstallationNotLinkedError(repository);
    return covering;
  }

  /** GitHub's installation for a repository (`GET /repos/{owner}/{repo}/installation`, App JWT), cached for a while. */
  private async lookUpInstallation(repository: string): Promise<number> {
    const cached = this.looked.get(repository.toLowerCase());
    if (cached && cached.until > Date.now()) return cached.id;
    const { owner, repo } = splitRepository(repository);
    const app = await this.appOctokit();
    let data: { id: number };
    try {
      data = (await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo })).data as typeof data;
    } catch (error) {
      if ((error as { status?: number }).status === 404) throw new GithubAppNotInstalledError(repository);
      throw error;
    }
    this.looked.set(repository.toLowerCase(), { id: data.id, until: Date.now() + LOOKUP_TTL_MS });
    return data.id;
  }

  /** An installation Octokit that may act for `orgId` on the repository. */
  async forOrgRepository(orgId: string, repository: string): Promise<GithubOctokit> {
    return this.installationOctokit(await this.installationFor(orgId, repository));
  }

  /** Every changed file of a pull request (all pages), read through an installation linked to the org. */
  async listPullRequestFiles(orgId: string, repository: string, pullNumber: number): Promise<PullRequestFile[]> {
    const octokit = await this.forOrgRepository(orgId, repository);
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...splitRepository(repository), pull_number: pullNumber, per_page: 100 });
    return files.map((file) => ({
      filename: file.filename,
      status: file.status,
      additions: file.additions,
      deletions: file.deletions,
      changes: file.changes,
      ...(file.patch !== undefined ? { patch: file.patch } : {}),
      ...(file.previous_filename !== undefined ? { previous_filename: file.previous_filename } : {}),
    }));
  }
}

/** `owner/name` → `{ owner, repo }`. */
export function splitRepository(repository: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length) throw new UnprocessableError(`Not an owner/name repository: ${JSON.stringify(repository)}`);
  return { owner, repo };
}
