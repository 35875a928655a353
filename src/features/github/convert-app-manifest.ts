import type { Config } from "../../config.js";
import { githubApiBaseUrl } from "./github-app-credentials.js";
import type { ConvertedApp } from "./github-app-credentials.store.js";

// GitHub answers the conversion at once; a hung GitHub must not hold the browser's request.
const CONVERSION_TIMEOUT_MS = 10_000;

/** Thrown when GitHub refuses a manifest code (expired, already used, unknown). */
export class ManifestConversionError extends Error {
  constructor(readonly status: number | null, message: string) {
    super(message);
    this.name = "ManifestConversionError";
  }
}

/** Exchanges the code GitHub gave the browser for the new App's credentials (`POST /app-manifests/{code}/conversions`). */
export async function convertAppManifest(config: Pick<Config, "GHE_HOST" | "GHE_PROTOCOL">, code: string): Promise<ConvertedApp> {
  let response: Response;
  try {
    response = await fetch(`${githubApiBaseUrl(config)}/app-manifests/${encodeURIComponent(code)}/conversions`, {
      method: "POST",
      headers: { accept: "application/vnd.github+json", "user-agent": "entourage" },
      signal: AbortSignal.timeout(CONVERSION_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ManifestConversionError(null, `GitHub could not be reached: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as Partial<ConvertedApp> & { message?: string };
  if (!response.ok) throw new ManifestConversionError(response.status, `GitHub refused the code (${response.status}${body.message ? `: ${body.message}` : ""})`);
  if (typeof body.id !== "number" || !body.pem || !body.webhook_secret || !body.slug || !body.html_url) {
    throw new ManifestConversionError(response.status, "GitHub's answer lacks the App's id, key or webhook secret");
  }
  return {
    id: body.id,
    slug: body.slug,
    name: body.name ?? body.slug,
    html_url: body.html_url,
    pem: body.pem,
    webhook_secret: body.webhook_secret,
    client_id: body.client_id ?? null,
    client_secret: body.client_secret ?? null,
  };
}
