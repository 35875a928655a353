import { createHmac } from "node:crypto";

export interface SignedHeaders {
  "X-Entourage-Signature": string;
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Both signatures over the exact body, one per secret (newest first; two while a rotation lasts):
 * - `X-Entourage-Signature: sha256=<hex>` keyed with the secret string as shown (`whsec_…`),
 *   comma-separated during a rotation;
 * - Standard Webhooks `webhook-signature: v1,<base64>` over `id.timestamp.body`, keyed with the
 *   base64-decoded part after `whsec_`, space-separated during a rotation (as the spec says).
 *   https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function signOutboundRequest(secrets: string[], deliveryId: string, timestamp: number, body: string): SignedHeaders {
  const seed = secrets.map((secret) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const standard = secrets.map((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    return `v1,${createHmac("sha256", key).update(`${deliveryId}.${timestamp}.${body}`).digest("base64")}`;
  });
  return {
    "X-Entourage-Signature": seed.join(","),
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": standard.join(" "),
  };
}
