import { createRequire } from "node:module";
import path from "node:path";
import express, { Router } from "express";
import type { AppContext } from "../../app-context.js";
import { buildOpenApiDocument } from "./build-openapi-document.js";

/** The swagger-ui-dist package's folder: the page's scripts and styles come from our own server, not a CDN. */
const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const SWAGGER_UI_FILES = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"]);

// Swagger UI sets inline styles; its scripts are all ours (no inline script: the start-up is /docs/start.js).
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Entourage API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/start.js"></script>
</body>
</html>
`;

const START = `window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });\n`;

/** `GET /api/v1/openapi.json` (public; mounted before the API's auth). */
export function createOpenApiRouter(ctx: AppContext): Router {
  const router = Router();
  let document: string | undefined;
  router.get("/openapi.json", (_req, res) => {
    document ??= JSON.stringify(buildOpenApiDocument(ctx.config.PUBLIC_URL));
    res.type("application/json").send(document);
  });
  return router;
}

/** `GET /docs`: the document rendered for people by Swagger UI, served from the npm package. */
export function createDocsRouter(): Router {
  const router = Router();
  const headers: express.RequestHandler = (_req, res, next) => {
    res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
  };
  router.get(["/docs", "/docs/"], headers, (_req, res) => {
    res.type("html").send(PAGE);
  });
  router.get("/docs/start.js", headers, (_req, res) => {
    res.type("application/javascript").send(START);
  });
  router.get("/docs/:file", headers, (req, res, next) => {
    const file = String(req.params.file);
    if (!SWAGGER_UI_FILES.has(file)) return next();
    res.sendFile(file, { root: SWAGGER_UI_DIR, maxAge: "1d" });
  });
  return router;
}
