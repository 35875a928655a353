import http from "node:http";
import type { AddressInfo } from "node:net";
import { testPrivateKey } from "./github-app.js";

export interface FakeInstallation {
  id: number;
  account: { login: string; type: string };
  repository_selection: string;
  created_at: string;
  updated_at: string;
}

export interface FakeGithub {
  /** host:port, for GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  url: string;
  /** The App the manifest conversion hands out. */
  app: { id: number; slug: string; name: string; html_url: string; pem: string; webhook_secret: string; client_id: string; client_secret: string };
  installations: Map<number, FakeInstallation>;
  manifests: Record<string, any>[];
  requests: { method: string; url: string; authorization?: string }[];
  /** The id the next install in the browser creates. */
  nextInstallationId: number;
  close(): Promise<void>;
}

/**
 * A GitHub Enterprise Server over loopback HTTP, enough for the App's setup: the web pages a
 * browser passes through (register from a manifest, install; both "clicked" at once, answering
 * with GitHub's redirects) and the API (/api/v3: manifest conversion, installations, tokens).
 */
export async function startFakeGithub(): Promise<FakeGithub> {
  const codes = new Map<string, Record<string, any>>();
  const fake = {
    installations: new Map<number, FakeInstallation>(),
    manifests: [] as Record<string, any>[],
    requests: [] as { method: string; url: string; authorization?: string }[],
    nextInstallationId: 5001,
  } as FakeGithub;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      fake.requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
      const url = new URL(req.url!, fake.url);
      const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      const redirect = (location: string) => res.writeHead(302, { location }).end();
      const jwt = /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i.test(req.headers.authorization ?? "");

      // Web: the user registers the App from the posted manifest; GitHub sends the browser back with a code.
      if (req.method === "POST" && /^\/(?:organizations\/[^/]+\/)?settings\/apps\/new$/.test(url.pathname)) {
        const manifest = JSON.parse(new URLSearchParams(body).get("manifest") ?? "{}");
        fake.manifests.push(manifest);
        const code = `code-${codes.size + 1}`;
        codes.set(code, manifest);
        return redirect(`${manifest.redirect_url}?code=${code}&state=${encodeURIComponent(url.searchParams.get("state") ?? "")}`);
      }
      // Web: the user installs the App on two repositories; GitHub sends the browser to the setup URL.
      if (req.method === "GET" && url.pathname === `/apps/${fake.app.slug}/installations/new`) {
        const id = fake.nextInstallationId++;
        const now = new Date().toISOString();
        fake.installations.set(id, { id, account: { login: "acme", type: "Organization" }, repository_selection: "selected", created_at: now, updated_at: now });
        const setupUrl = fake.manifests.at(-1)?.setup_url;
        return redirect(`${setupUrl}?installation_id=${id}&setup_action=install&state=${encodeURIComponent(url.searchParams.get("state") ?? "")}`);
      }
      // API
      const conversion = /^\/api\/v3\/app-manifests\/([^/]+)\/conversions$/.exec(url.pathname);
      if (req.method === "POST" && conversion) {
        if (!codes.delete(conversion[1]!)) return json(404, { message: "Not Found" });
        return json(201, { ...fake.app, owner: { login: "acme" } });
      }
      const installation = /^\/api\/v3\/app\/installations\/(\d+)$/.exec(url.pathname);
      if (req.method === "GET" && installation && jwt) {
        const found = fake.installations.get(Number(installation[1]));
        return found ? json(200, found) : json(404, { message: "Not Found" });
      }
      const token = /^\/api\/v3\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
      if (req.method === "POST" && token && jwt) {
        return json(201, { token: `ghs_fake_${token[1]}`, expires_at: new Date(Date.now() + 3600_000).toISOString() });
      }
      if (req.method === "GET" && url.pathname === "/api/v3/app" && jwt) return json(200, { id: fake.app.id, slug: fake.app.slug, html_url: fake.app.html_url });
      json(404, { message: "Not Found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = `http://${fake.host}`;
  fake.app = {
    id: 777001,
    slug: "entourage-test",
    name: "Entourage Test",
    html_url: `${fake.url}/apps/entourage-test`,
    pem: testPrivateKey(),
    webhook_secret: "fake-app-webhook-secret-7f3a",
    client_id: "Iv1.fakeclientid",
    client_secret: "fake-client-secret-9b2c",
  };
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
