import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { Config } from "../../config.js";

// app.yml sits at the checkout's root: three levels up from src/features/github, four from dist/.
const CANDIDATES = ["../../../app.yml", "../../../../app.yml"];

/** GitHub's web address: github.com, or the GitHub Enterprise Server GHE_HOST names. */
export function githubWebUrl(config: Pick<Config, "GHE_HOST" | "GHE_PROTOCOL">): string {
  return config.GHE_HOST ? `${config.GHE_PROTOCOL}://${config.GHE_HOST.replace(/\/+$/, "")}` : "https://github.com";
}

/** Where GitHub posts the App's deliveries: the smee channel while developing, else PUBLIC_URL. */
export function appWebhookUrl(config: Pick<Config, "PUBLIC_URL" | "WEBHOOK_PROXY_URL">): string {
  return config.WEBHOOK_PROXY_URL ?? `${config.PUBLIC_URL}/api/github/webhooks`;
}

/**
 * app.yml as a manifest for GitHub's manifest flow, pointed at this instance: deliveries to
 * /api/github/webhooks (or WEBHOOK_PROXY_URL), the browser back to the setup callback after
 * registration and to /api/github/setup/installed after an installation. Private unless app.yml says otherwise.
 */
export function appManifest(config: Pick<Config, "PUBLIC_URL" | "WEBHOOK_PROXY_URL">): Record<string, unknown> {
  const file = CANDIDATES.map((candidate) => fileURLToPath(new URL(candidate, import.meta.url))).find((path) => existsSync(path));
  if (!file) throw new Error("app.yml not found next to the package: it is the App's manifest");
  const manifest = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  return {
    ...manifest,
    hook_attributes: { ...(manifest.hook_attributes as Record<string, unknown> | undefined), url: appWebhookUrl(config) },
    redirect_url: `${config.PUBLIC_URL}/api/github/setup/callback`,
    setup_url: `${config.PUBLIC_URL}/api/github/setup/installed`,
    public: manifest.public === true,
  };
}

/** Where the browser POSTs the `manifest` form field: the user's settings, or an organization's. */
export function manifestFormUrl(config: Pick<Config, "GHE_HOST" | "GHE_PROTOCOL">, state: string, owner?: string): string {
  const base = githubWebUrl(config);
  const path = owner ? `/organizations/${encodeURIComponent(owner)}/settings/apps/new` : "/settings/apps/new";
  return `${base}${path}?state=${encodeURIComponent(state)}`;
}
