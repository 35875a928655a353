import type { GithubAppDoor } from "./github-app-door.js";
import type { GithubClient } from "./github-client.js";

/** Where the App's credentials came from: the environment wins over those stored by the manifest flow. */
export type GithubAppSource = "env" | "database";

/** The App as the setup flow stored it (absent for environment credentials). */
export interface GithubAppInfo {
  id: number;
  slug: string | null;
  name: string | null;
  html_url: string | null;
}

/**
 * The GitHub App side, which may turn on while running: credentials from the environment are
 * used as they are; otherwise those the manifest flow stored in PostgreSQL, re-read every
 * `refreshMs` (5 s) so every instance turns the App path on without a restart.
 */
export interface GithubAppRuntime {
  client(): GithubClient | undefined;
  /** Answers /api/github/webhooks with whatever App is current (a 503 while there is none). */
  door: GithubAppDoor;
  source(): GithubAppSource | null;
  info(): GithubAppInfo | null;
  /** Reads the stored credentials now (the setup callback calls it on its own instance). */
  refresh(): Promise<void>;
  /** Called whenever a client appears or changes. */
  onClient(listener: (client: GithubClient) => void): void;
  stop(): void;
  /** Cuts every GitHub call still in flight (shutdown, once the drain time is over). */
  abortCalls(reason: string): void;
}
