import type { Knex } from "knex";
import type { Logger } from "pino";
import type { EventBus } from "./bus/event-bus.js";
import type { Config } from "./config.js";
import type { EventStreams } from "./features/events/event-streams.js";
import type { GithubClient } from "./features/github/github-client.js";
import type { GithubAppRuntime } from "./features/github/github-app-runtime.js";
import type { Metrics } from "./features/metrics/create-metrics.js";
import type { PullRequestFilesSource } from "./features/reviews/pull-request-files-source.js";

export interface Secrets {
  jwtSecret: string;
  /** 32-byte AES-256-GCM key. */
  encryptionKey: Buffer;
}

/** What routes, services and workers are built from: clients are made once, in main, and passed in. */
export interface AppContext {
  config: Config;
  knex: Knex;
  /** The database URL in use, for dedicated connections (LISTEN). */
  databaseUrl: string;
  logger: Logger;
  secrets: Secrets;
  /** Live domain events for SSE; absent in a worker-only process. */
  realtime?: Realtime;
  /** The one GitHub client (installation Octokit from Probot); absent while the App path is off. */
  github?: GithubClient;
  /** The GitHub App as currently configured (environment or setup flow); absent in tools that do not start it. */
  githubApp?: GithubAppRuntime;
  /** A pull request's changed files from GitHub (`pulls.listFiles`); absent without GitHub credentials. */
  pullRequestFiles?: PullRequestFilesSource;
  /** Prometheus metrics of this instance (GET /metrics); absent in tests that build a context by hand. */
  metrics?: Metrics;
}

export interface Realtime {
  bus: EventBus;
  /** Every event up to this id has been published on the bus (the relay's watermark). */
  settledId(): Promise<number>;
  streams: EventStreams;
  heartbeatMs: number;
}
