import type { Knex } from "knex";
import type { Probot } from "probot";
import { UnavailableError } from "../../errors.js";
import { findInstallationIdForRepository, upsertInstallation } from "./github-installations.store.js";

const LOOKUP_TTL_MS = 10 * 60 * 1000;

/** An authenticated Octokit from Probot (retry, throttling and enterprise plugins included). */
export type GithubOctokit = Awaited<ReturnType<Probot["auth"]>>;

/** A changed file of a pull request, as GitHub lists it. */
export interface PullRequestFile {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
  changes: number;
  patch?: string;
  previous_filename?: string;
}

/** Thrown when the App is not installed on a repository (so nothing can be written there). */
export class GithubAppNotInstalledError extends Error {
  constructor(readonly repository: string) {
    super(`The Entourage GitHub App is not installed on ${repository}: install it there (README: GitHub App) so Entourage can write to it`);
    this.name = "GithubAppNotInstalledError";
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

  /** The installation covering `owner/name`: the given hint, the tracked tables, else GitHub (recorded for next time). */
  async installationIdFor(repository: string, hint?: number | null): Promise<number> {
    if (hint) return hint;
    const tracked = await findInstallationIdForRepository(this.knex, repository);
    if (tracked) return tracked;
    const cached = this.looked.get(repository.toLowerCase());
    if (cached && cached.until > Date.now()) return cached.id;
    const { owner, repo } = splitRepository(repository);
    const app = await this.appOctokit();
    let data: { id: number; account?: { login?: string; type?: string } | null; repository_selection?: string };
    try {
      const response = await app.request("GET /repos/{owner}/{repo}/installation", { owner, repo });
      data = response.data as typeof data;
    } catch (error) {
      if ((error as { status?: number }).status === 404) throw new GithubAppNotInstalledError(repository);
      throw error;
    }
    await upsertInstallation(this.knex, {
      id: data.id,
      account_login: data.account?.login ?? owner,
      account_type: data.account?.type ?? null,
      repository_selection: data.repository_selection ?? null,
    });
    this.looked.set(repository.toLowerCase(), { id: data.id, until: Date.now() + LOOKUP_TTL_MS });
    return data.id;
  }

  /** An installation Octokit for the repository. */
  async forRepository(repository: string, installationId?: number | null): Promise<GithubOctokit> {
    return this.installationOctokit(await this.installationIdFor(repository, installationId));
  }

  /** Every changed file of a pull request (all pages). */
  async listPullRequestFiles(repository: string, pullNumber: number, installationId?: number | null): Promise<PullRequestFile[]> {
    const octokit = await this.forRepository(repository, installationId);
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

/** `listPullRequestFiles` for callers holding an optional client: 503 with how to turn the App on when there is none. */
export async function listPullRequestFiles(
  github: GithubClient | undefined,
  repository: string,
  pullNumber: number,
  installationId?: number | null,
): Promise<PullRequestFile[]> {
  if (!github) throw new UnavailableError("GitHub is not configured: set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET to read pull requests");
  return github.listPullRequestFiles(repository, pullNumber, installationId);
}

/** `owner/name` → `{ owner, repo }`. */
export function splitRepository(repository: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length) throw new Error(`not an owner/name repository: ${repository}`);
  return { owner, repo };
}
