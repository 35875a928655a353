import { z } from "zod";
import { timestamp } from "../../http/api-output.js";
import { GITHUB_ACTION_KINDS, GITHUB_ACTION_STATUSES } from "./github-outbox.store.js";

/** GET /github/app: whether and how the App is configured; never a secret. */
export const githubAppOutput = z.strictObject({
  configured: z.boolean(),
  /** Environment variables (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET) or the setup flow's stored credentials. */
  source: z.enum(["env", "database"]).nullable(),
  app: z
    .strictObject({
      id: z.number().int(),
      slug: z.string().nullable(),
      name: z.string().nullable(),
      html_url: z.string().nullable(),
    })
    .nullable(),
  webhook_url: z.string(),
  setup_available: z.boolean(),
  /** The newest App delivery routed to the caller's org. */
  last_delivery_at: timestamp.nullable(),
});
export type GithubAppView = z.output<typeof githubAppOutput>;

/** POST /github/app/manifest: where the browser posts the manifest, the manifest, and the single-use state. */
export const manifestOutput = z.strictObject({
  url: z.string(),
  manifest: z.record(z.string(), z.unknown()),
  state: z.string(),
});
export type ManifestView = z.output<typeof manifestOutput>;

/** POST /github/app/install: where to send the browser, and the state that links the install to the org. */
export const installUrlOutput = z.strictObject({ url: z.string(), state: z.string() });
export type InstallUrlView = z.output<typeof installUrlOutput>;

/** An installation as its org reads it (GET /github/installations, PATCH /github/installations/{id}). */
export const installationOutput = z.strictObject({
  id: z.number().int(),
  account_login: z.string(),
  account_type: z.string().nullable(),
  repository_selection: z.string().nullable(),
  repositories: z.array(z.strictObject({ full_name: z.string() })),
  /** The github webhook that routes its deliveries. */
  webhook_id: z.uuid().nullable(),
  team_id: z.uuid().nullable(),
  suspended: z.boolean(),
});
export type OrgInstallationView = z.output<typeof installationOutput>;

/** POST /github/installations/{id}/link. */
export const installationLinkOutput = z.strictObject({
  id: z.number().int(),
  account_login: z.string(),
  org_id: z.uuid().nullable(),
  team_id: z.uuid().nullable(),
  linked_at: timestamp.nullable(),
  webhook_id: z.uuid().nullable(),
  /** The org it was linked to before (`replace: true`), if another. */
  replaced_org_id: z.uuid().nullable(),
});
export type InstallationLinkView = z.output<typeof installationLinkOutput>;

/** GET /github/unrouted-deliveries: an App delivery no webhook took (its payload stays in the database). */
export const unroutedDeliveryOutput = z.strictObject({
  id: z.uuid(),
  delivery_guid: z.string(),
  installation_id: z.number().int().nullable(),
  repository: z.string().nullable(),
  event_type: z.string(),
  payload_summary: z.record(z.string(), z.unknown()),
  received_at: timestamp,
});
export type UnroutedDeliveryView = z.output<typeof unroutedDeliveryOutput>;

/** GET /github/actions: one write to GitHub and how it went. */
export const githubActionOutput = z.strictObject({
  id: z.number().int(),
  kind: z.enum(GITHUB_ACTION_KINDS),
  repository: z.string(),
  installation_id: z.number().int().nullable(),
  dedupe_key: z.string(),
  request: z.record(z.string(), z.unknown()),
  task_id: z.number().int().nullable(),
  attempts: z.number().int(),
  created_at: timestamp,
  status: z.enum(GITHUB_ACTION_STATUSES),
  next_attempt_at: timestamp,
  last_error: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  sent_at: timestamp.nullable(),
});
export type GithubActionOutputView = z.output<typeof githubActionOutput>;
