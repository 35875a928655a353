import type { Request } from "express";
import { AuthenticationError } from "../errors.js";

export interface AuthContext {
  orgId: string;
  via: "api_key" | "jwt";
  /** The key presented, or the key that minted the token. */
  apiKeyId: string;
  /** When a token expires; undefined for an API key. */
  expiresAt?: Date;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      auth?: AuthContext;
      id?: string;
    }
  }
}

/** The caller's auth context; routes behind the auth middleware always have one. */
export function requestAuth(req: Request): AuthContext {
  if (!req.auth) throw new AuthenticationError();
  return req.auth;
}
