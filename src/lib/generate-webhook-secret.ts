import { randomBytes } from "node:crypto";

/** `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret shape, used as shown as the HMAC key. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** A short, non-secret hint for listings: `whsec_AbCd…`. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, 10)}…`;
}
