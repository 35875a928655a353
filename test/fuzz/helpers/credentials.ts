import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import fc from "fast-check";
import { TEST_JWT_SECRET } from "../../helpers/test-app.js";

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Tokens that must all be refused: alg none, expired, wrong secret, tampered, junk. */
export function forgedTokens(callerOrg: string, otherOrg: string): string[] {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const valid = jwt.sign({ org_id: callerOrg, exp }, TEST_JWT_SECRET, { algorithm: "HS256" });
  const [header, , signature] = valid.split(".");
  return [
    `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ org_id: otherOrg, exp })}.`,
    `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ org_id: callerOrg, exp })}.`,
    `${base64url({ alg: "NONE" })}.${base64url({ org_id: otherOrg, exp })}.${signature}`,
    jwt.sign({ org_id: callerOrg, exp: Math.floor(Date.now() / 1000) - 60 }, TEST_JWT_SECRET, { algorithm: "HS256" }),
    jwt.sign({ org_id: otherOrg, exp }, "not-the-server-secret-but-long-enough-123", { algorithm: "HS256" }),
    jwt.sign({ org_id: otherOrg, exp }, TEST_JWT_SECRET, { algorithm: "HS512" }),
    jwt.sign({ org_id: callerOrg }, TEST_JWT_SECRET, { algorithm: "HS256" }), // no exp
    `${header}.${base64url({ org_id: otherOrg, exp })}.${signature}`, // payload swapped, signature kept
    // Properly signed, but naming no live key of the org: a token lives no longer than its key.
    jwt.sign({ org_id: callerOrg, exp }, TEST_JWT_SECRET, { algorithm: "HS256", keyid: randomUUID() }),
    jwt.sign({ org_id: callerOrg, exp }, TEST_JWT_SECRET, { algorithm: "HS256", keyid: "' OR 1=1 --" }),
    "a.b.c",
    "....",
    "eyJ",
  ];
}

export type Credential = [string, string][];

/**
 * Header sets for a request: mostly the caller's own key (to reach deep into the routes),
 * otherwise missing, junk, duplicated or forged credentials.
 */
export function credentials(callerKey: string, callerOrg: string, otherOrg: string): fc.Arbitrary<Credential> {
  const forged = forgedTokens(callerOrg, otherOrg);
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant<Credential>([["x-api-key", callerKey]]) },
    { weight: 1, arbitrary: fc.constant<Credential>([["authorization", `Bearer ${callerKey}`]]) },
    { weight: 1, arbitrary: fc.constant<Credential>([]) },
    { weight: 2, arbitrary: fc.constantFrom(...forged).map((token): Credential => [["authorization", `Bearer ${token}`]]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Credential>(
        [["x-api-key", "oc_" + "0".repeat(64)]],
        [["x-api-key", ""]],
        [["x-api-key", "' OR 1=1 --"]],
        [["x-api-key", callerKey], ["x-api-key", "oc_junk"]],
        [["x-api-key", "oc_junk"], ["x-api-key", callerKey]],
        [["authorization", "Bearer"]],
        [["authorization", "Basic dXNlcjpwYXNz"]],
        [["authorization", `Bearer ${callerKey}`], ["authorization", "Bearer junk"]],
        [["authorization", "Bearer " + "a".repeat(8_000)]],
      ),
    },
  );
}
