import jwt from "jsonwebtoken";

// Pinned: a token that names another algorithm (`none`, RS256 with the secret as a "public key") fails.
const ALGORITHM = "HS256" as const;

export interface TokenClaims {
  org_id: string;
  /** The API key that minted the token (the JWT header's `kid`); the token lives no longer than it. */
  key_id: string;
  expires_at: Date;
}

/** Signs a short-lived token for an org, naming the API key that minted it as `kid`. */
export function signOrgToken(
  secret: string,
  minter: { orgId: string; apiKeyId: string },
  expiresInSeconds: number,
): { token: string; expires_at: string } {
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  const token = jwt.sign({ org_id: minter.orgId, exp }, secret, { algorithm: ALGORITHM, keyid: minter.apiKeyId });
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}

/** The token's claims, or undefined unless it is a valid, unexpired HS256 token with `kid`, `exp` and `org_id`. */
export function verifyOrgToken(secret: string, token: string): TokenClaims | undefined {
  try {
    const { header, payload } = jwt.verify(token, secret, { algorithms: [ALGORITHM], complete: true });
    if (typeof payload !== "object" || typeof payload.exp !== "number") return undefined;
    if (typeof payload.org_id !== "string" || typeof header.kid !== "string") return undefined;
    return { org_id: payload.org_id, key_id: header.kid, expires_at: new Date(payload.exp * 1000) };
  } catch {
    return undefined;
  }
}
