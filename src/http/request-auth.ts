import type { Request } from "express";
import { AuthenticationError } from "../errors.js";

export interface AuthContext {
  orgId: string;
  via: "api_key" | "jwt";
  apiKeyId?: string;
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
