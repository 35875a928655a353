import { Probot, ProbotOctokit } from "probot";
import type { Logger } from "pino";
import type { GithubAppCredentials } from "./github-app-credentials.js";

/** Octokit options every GitHub call is made with (tests turn throttling off: `{ throttle: { enabled: false } }`). */
export interface GithubOctokitOptions {
  throttle?: { enabled: boolean };
}

/**
 * The Probot instance, built from our config rather than from process.env (createProbot({ env })
 * would replace it). It logs through our pino logger, with errors reduced to type, message and
 * status: Probot logs a refused or failed delivery with the whole event attached, twice.
 */
export function createGithubProbot(credentials: GithubAppCredentials, logger: Logger, options: { fetch?: typeof fetch; octokit?: GithubOctokitOptions } = {}): Probot {
  const octokitOptions = options.octokit;
  const log = logger.child({ component: "github-app" }, { serializers: { err: compactError } });
  return new Probot({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: credentials.baseUrl,
    log,
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
    // Applied last, over the options Probot adds itself (which would otherwise replace them).
    ...(octokitOptions
      ? { Octokit: ProbotOctokit.defaults((defaults: Record<string, unknown>) => ({ ...defaults, ...octokitOptions, throttle: { ...(defaults.throttle as object), ...octokitOptions.throttle } })) }
      : {}),
  });
}

function compactError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const inner = error instanceof AggregateError ? error.errors.map((e: unknown) => compactError(e)) : undefined;
  const status = (error as { status?: unknown }).status;
  return { type: error.name, message: error.message, ...(status !== undefined ? { status } : {}), ...(inner?.length ? { errors: inner } : {}) };
}
