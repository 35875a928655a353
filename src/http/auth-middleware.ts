import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Knex } from "knex";
import { AuthenticationError } from "../errors.js";
import { API_KEY_PREFIX, authenticateApiKey } from "../features/auth/api-keys.service.js";
import { verifyOrgToken } from "../features/auth/jwt-tokens.js";
import { liveKeys } from "../features/auth/live-key-cache.js";

interface AuthOptions {
  knex: Knex;
  jwtSecret: string;
  /** Accept `?access_token=<JWT>` (for EventSource, which cannot send headers). Never an API key. */
  allowQueryToken?: boolean;
}

/** Resolves `X-API-Key: oc_…` or `Authorization: Bearer <JWT|oc_…>` to the caller's org; 401 otherwise. */
export function createAuthMiddleware(options: AuthOptions): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const apiKey = singleHeader(req.headers["x-api-key"]);
    const bearer = /^Bearer\s+(\S+)$/i.exec(singleHeader(req.headers.authorization) ?? "")?.[1];
    const queryToken =
      options.allowQueryToken && typeof req.query.access_token === "string" ? req.query.access_token : undefined;

    const key = apiKey ?? (bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined);
    if (key) {
      const row = await authenticateApiKey(options.knex, key);
      if (!row) throw new AuthenticationError("Invalid or revoked API key");
      req.auth = { orgId: row.org_id, via: "api_key", apiKeyId: row.id };
      return next();
    }
    const token = bearer ?? queryToken;
    if (token) {
      const claims = verifyOrgToken(options.jwtSecret, token);
      if (!claims) throw new AuthenticationError("Invalid or expired token");
      // A token lives no longer than the key that minted it.
      if (!(await liveKeys.isLive(options.knex, claims.key_id, claims.org_id))) {
        throw new AuthenticationError("The API key that issued this token has been revoked");
      }
      req.auth = { orgId: claims.org_id, via: "jwt", apiKeyId: claims.key_id, expiresAt: claims.expires_at };
      return next();
    }
    throw new AuthenticationError();
  };
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
