import type { Probot } from "probot";

/** The Probot app function: each feature registers its GitHub event handlers here. */
export default function entourageApp(app: Probot): void {
  app.log.debug("Entourage GitHub App loaded");
}
