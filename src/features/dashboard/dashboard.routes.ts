import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

// Plain files, no build step: next to this module in a source checkout; from dist/, back in src/.
const CANDIDATES = ["./public/", "../../../../src/features/dashboard/public/"];

/** The directory holding index.html, app.js and styles.css. */
export function dashboardDir(): string {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error("Dashboard files not found: expected src/features/dashboard/public/index.html");
}

// The page holds an API key in sessionStorage: allow only our own scripts, styles and requests
// (and forms to GitHub: the Connect GitHub panel posts the App's manifest there).
const contentSecurityPolicy = (formAction: string) => [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  `form-action 'self' ${formAction}`,
].join("; ");

/** Serves the dashboard at `/` (static HTML, CSS and JS). */
export function createDashboardRouter(options: { formAction: string }): Router {
  const router = Router();
  const policy = contentSecurityPolicy(options.formAction);
  router.use((_req, res, next) => {
    res.setHeader("Content-Security-Policy", policy);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    next();
  });
  router.use(express.static(dashboardDir(), { index: "index.html", maxAge: 0, etag: true }));
  return router;
}
