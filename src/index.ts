import type { Probot } from "probot";
import { registerGithubHandlers, type GithubHandlerDeps } from "./features/github/github.webhooks.js";

/**
 * The Probot app function: each feature registers its GitHub event handlers here. Entourage's
 * server passes its dependencies (database, delivery writer); loaded bare (e.g. by `probot run`)
 * it has nowhere to put deliveries and says so.
 */
export default function entourageApp(app: Probot, deps?: GithubHandlerDeps): void {
  if (!deps) {
    app.log.warn("Entourage's App function needs the Entourage server (entourage serve) to route deliveries");
    return;
  }
  registerGithubHandlers(app, deps);
  app.log.debug("Entourage GitHub App loaded");
}
