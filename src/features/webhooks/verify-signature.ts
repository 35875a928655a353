import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * True when `header` is `sha256=<hex HMAC-SHA256(secret, body)>` for one of the secrets.
 * Compared in constant time; a malformed header is simply not a match.
 */
export function verifySignature(secrets: readonly string[], body: Buffer, header: string | undefined): boolean {
  const hex = header ? SIGNATURE.exec(header.trim())?.[1] : undefined;
  if (!hex) return false;
  const presented = Buffer.from(hex.toLowerCase(), "hex");
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac("sha256", secret).update(body).digest();
    // No early exit: every secret is checked so timing does not reveal which one matched.
    if (timingSafeEqual(expected, presented)) valid = true;
  }
  return valid;
}
