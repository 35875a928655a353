import { readFileSync } from "node:fs";
import type { Config } from "../../config.js";

export interface GithubAppCredentials {
  appId: number;
  privateKey: string;
  webhookSecret: string;
  /** REST base URL: api.github.com, or GHE_PROTOCOL://GHE_HOST/api/v3 (GitHub Enterprise Server, or a local fake in tests). */
  baseUrl: string;
}

export type CredentialsLookup = { credentials: GithubAppCredentials; missing?: undefined } | { credentials?: undefined; missing: string[] };

/** How to turn the App path on; said at start-up and by /api/github/webhooks while it is off. */
export const GITHUB_APP_HOW_TO =
  "set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET from your GitHub App's settings (README: GitHub App)";

/** The App's credentials from config, or the names of the variables still missing. */
export function githubAppCredentials(config: Config): CredentialsLookup {
  const missing: string[] = [];
  if (!config.APP_ID) missing.push("APP_ID");
  if (!config.PRIVATE_KEY && !config.PRIVATE_KEY_PATH) missing.push("PRIVATE_KEY or PRIVATE_KEY_PATH");
  if (!config.WEBHOOK_SECRET) missing.push("WEBHOOK_SECRET");
  if (missing.length) return { missing };
  return {
    credentials: {
      appId: Number(config.APP_ID),
      privateKey: readPrivateKey(config),
      webhookSecret: config.WEBHOOK_SECRET!,
      baseUrl: githubApiBaseUrl(config),
    },
  };
}

/** Probot's convention: GHE_HOST (host[:port]) and GHE_PROTOCOL name a GitHub Enterprise Server. */
export function githubApiBaseUrl(config: Pick<Config, "GHE_HOST" | "GHE_PROTOCOL">): string {
  return config.GHE_HOST ? `${config.GHE_PROTOCOL}://${config.GHE_HOST.replace(/\/+$/, "")}/api/v3` : "https://api.github.com";
}

function readPrivateKey(config: Config): string {
  let key: string;
  if (config.PRIVATE_KEY) {
    // .env files often carry the PEM on one line with literal \n.
    key = config.PRIVATE_KEY.replace(/\\n/g, "\n");
  } else {
    try {
      key = readFileSync(config.PRIVATE_KEY_PATH!, "utf8");
    } catch (error) {
      throw new Error(`PRIVATE_KEY_PATH: cannot read ${config.PRIVATE_KEY_PATH} (${(error as Error).message})`);
    }
  }
  if (!key.includes("-----BEGIN")) {
    // A base64-encoded PEM, as some hosts require for multi-line values.
    const decoded = Buffer.from(key, "base64").toString("utf8");
    if (decoded.includes("-----BEGIN")) key = decoded;
    else throw new Error("PRIVATE_KEY: not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----, as downloaded from the App's settings)");
  }
  return key;
}
