import jwt from "jsonwebtoken";

// Pinned: a token that names another algorithm (`none`, RS256 with the secret as a "public key") fails.
const ALGORITHM = "HS256" as const;

export interface TokenClaims {
  org_id: string;
}

/** Signs a short-lived token for an org. */
export function signOrgToken(secret: string, orgId: string, expiresInSeconds: number): { token: string; expires_at: string } {
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  const token = jwt.sign({ org_id: orgId, exp }, secret, { algorithm: ALGORITHM });
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}

/** The token's claims, or undefined when it is not a valid, unexpired HS256 token with `exp` and `org_id`. */
export function verifyOrgToken(secret: string, token: string): TokenClaims | undefined {
  try {
    const payload = jwt.verify(token, secret, { algorithms: [ALGORITHM] });
    if (typeof payload !== "object" || typeof payload.exp !== "number") return undefined;
    if (typeof payload.org_id !== "string") return undefined;
    return { org_id: payload.org_id };
  } catch {
    return undefined;
  }
}
