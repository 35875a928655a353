import { createHmac } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";

/**
 * The `X-Hub-Signature-256` GitHub would send for `body`, computed by Octokit's implementation,
 * so receive-path tests never sign with the code they are testing.
 */
export function githubSignature(secret: string, body: string): Promise<string> {
  return sign(secret, body);
}

/**
 * The same, synchronously, for fast-check generators (which cannot await): the test's own HMAC,
 * independent of the production signer too.
 */
export function githubSignatureNow(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}
