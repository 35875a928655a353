import { Probot } from "probot";
import type { Logger } from "pino";
import type { GithubAppCredentials } from "./github-app-credentials.js";

/**
 * The Probot instance, built from our config rather than from process.env (createProbot({ env })
 * would replace it). It logs through our pino logger, with errors reduced to type, message and
 * status: Probot logs a refused or failed delivery with the whole event attached, twice.
 */
export function createGithubProbot(credentials: GithubAppCredentials, logger: Logger, options: { fetch?: typeof fetch } = {}): Probot {
  const log = logger.child({ component: "github-app" }, { serializers: { err: compactError } });
  return new Probot({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    secret: credentials.webhookSecret,
    baseUrl: credentials.baseUrl,
    log,
    ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
  });
}

function compactError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const inner = error instanceof AggregateError ? error.errors.map((e: unknown) => compactError(e)) : undefined;
  const status = (error as { status?: unknown }).status;
  return { type: error.name, message: error.message, ...(status !== undefined ? { status } : {}), ...(inner?.length ? { errors: inner } : {}) };
}
