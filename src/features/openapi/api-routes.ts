import { z } from "zod";
import { createKeyBody, tokenBody } from "../auth/auth.routes.js";
import { apiKeyOutput, createdApiKeyOutput, tokenOutput } from "../auth/auth.schema.js";
import { eventsQuery } from "../events/events.routes.js";
import { manifestBody } from "../github/github-app.routes.js";
import { linkBody, patchBody as patchInstallationBody } from "../github/github-installations.routes.js";
import { actionsQuery, unroutedQuery } from "../github/github.routes.js";
import {
  githubActionOutput,
  githubAppOutput,
  installationLinkOutput,
  installationOutput,
  installUrlOutput,
  manifestOutput,
  unroutedDeliveryOutput,
} from "../github/github.schema.js";
import {
  createOutboundWebhookBody,
  listOutboundDeliveriesQuery,
  listOutboundWebhooksQuery,
  outboundDeliveryOutput,
  outboundWebhookOutput,
  outboundWebhookWithSecretOutput,
  updateOutboundWebhookBody,
} from "../notifications/outbound-webhooks.schema.js";
import { listReviewsQuery, reviewDetailOutput, reviewOutput, verdictBody, verdictOutput } from "../reviews/reviews.schema.js";
import { deliveryStatsOutput, deliveryStatsQuery } from "../stats/stats.schema.js";
import {
  createSubtasksBody,
  createTaskBody,
  createTaskCommentBody,
  listTaskCommentsQuery,
  listTasksQuery,
  taskCommentOutput,
  taskDetailOutput,
  taskOutput,
  updateTaskBody,
} from "../tasks/tasks.schema.js";
import { agentOutput, createAgentBody, createTeamBody, teamOutput, updateAgentBody } from "../teams/teams.schema.js";
import {
  createWebhookBody,
  deliveryListItemOutput,
  deliveryOutput,
  listDeliveriesQuery,
  receiveAnswerOutput,
  redeliveryOutput,
  regenerateSecretBody,
  updateWebhookBody,
  webhookOutput,
  webhookWithSecretOutput,
} from "../webhooks/webhooks.schema.js";

export type HttpMethod = "get" | "post" | "patch" | "put" | "delete";

/**
 * One `/api/v1` route as the OpenAPI document describes it. Bodies and queries are the very zod
 * schemas the route parses with; the document is generated from them (z.toJSONSchema).
 */
export interface ApiRoute {
  method: HttpMethod;
  /** Below /api/v1, in OpenAPI form: `/tasks/{id}`. */
  path: string;
  tag: string;
  summary: string;
  /** `api` (X-API-Key or bearer JWT, the default), `public`, `signature` (the receive endpoint), `events` (also ?access_token=). */
  access?: "api" | "public" | "signature" | "events";
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success answer's body, as the route's service types it (timestamps are ISO text on the wire). */
  response?: z.ZodType;
  /** The success status and what it returns. */
  ok: [status: number, description: string];
  /** Answers besides the usual ones (400 with a body or query, 401, 404 with a path id). */
  errors?: number[];
  /** Answers a page: `limit`, `cursor`, and a `Link: <…>; rel="next"` header. */
  paginated?: boolean;
  /**
   * Example values of body fields whose rules JSON Schema cannot say (a URL's scheme, event names
   * known to a provider, indexes within the same body); the document shows them as `examples`.
   */
  examples?: Record<string, unknown>;
}

const apiKeys: ApiRoute[] = [
  { method: "post", path: "/auth/token", tag: "auth", summary: "Mint a short-lived JWT for the caller's API key", body: tokenBody, response: tokenOutput, ok: [200, "The token and when it expires"], errors: [403] },
  { method: "get", path: "/api-keys", tag: "auth", summary: "List the org's API keys (never the keys themselves)", response: z.array(apiKeyOutput), ok: [200, "API keys"] },
  { method: "post", path: "/api-keys", tag: "auth", summary: "Create an API key, shown once", body: createKeyBody, response: createdApiKeyOutput, ok: [201, "The new key"] },
  { method: "delete", path: "/api-keys/{id}", tag: "auth", summary: "Revoke an API key", ok: [204, "Revoked"] },
];

const teams: ApiRoute[] = [
  { method: "get", path: "/teams", tag: "teams", summary: "List teams", response: z.array(teamOutput), ok: [200, "Teams"] },
  { method: "post", path: "/teams", tag: "teams", summary: "Create a team", body: createTeamBody, response: teamOutput, ok: [201, "The team"], errors: [409] },
  { method: "get", path: "/teams/{id}/agents", tag: "teams", summary: "List a team's agents", response: z.array(agentOutput), ok: [200, "Agents"] },
  { method: "post", path: "/teams/{id}/agents", tag: "teams", summary: "Add an agent to a team", body: createAgentBody, response: agentOutput, ok: [201, "The agent"], errors: [409] },
  { method: "patch", path: "/agents/{id}", tag: "teams", summary: "Change an agent (role, status, name)", body: updateAgentBody, response: agentOutput, ok: [200, "The agent"], errors: [409] },
];

const tasks: ApiRoute[] = [
  { method: "get", path: "/tasks", tag: "tasks", summary: "List tasks", query: listTasksQuery, paginated: true, response: z.array(taskOutput), ok: [200, "A page of tasks"] },
  { method: "post", path: "/tasks", tag: "tasks", summary: "Create a task", body: createTaskBody, response: taskOutput, ok: [201, "The task"], errors: [404, 409, 422] },
  { method: "get", path: "/tasks/{id}", tag: "tasks", summary: "A task with its subtasks, dependencies and source", response: taskDetailOutput, ok: [200, "The task"] },
  { method: "patch", path: "/tasks/{id}", tag: "tasks", summary: "Change a task (status, assignee, priority, …)", body: updateTaskBody, response: taskOutput, ok: [200, "The task"], errors: [409, 422] },
  { method: "post", path: "/tasks/{id}/subtasks", tag: "tasks", summary: "Split a task into subtasks", body: createSubtasksBody, examples: { subtasks: [{ title: "Write the migration" }, { title: "Wire the route", depends_on: [0] }] }, response: z.array(taskOutput), ok: [201, "The subtasks"], errors: [409, 422] },
  { method: "get", path: "/tasks/{id}/comments", tag: "tasks", summary: "List a task's comments", query: listTaskCommentsQuery, paginated: true, response: z.array(taskCommentOutput), ok: [200, "A page of comments"] },
  { method: "post", path: "/tasks/{id}/comments", tag: "tasks", summary: "Comment on a task", body: createTaskCommentBody, response: taskCommentOutput, ok: [201, "The comment"], errors: [422] },
];

const reviews: ApiRoute[] = [
  { method: "get", path: "/reviews", tag: "reviews", summary: "List reviews", query: listReviewsQuery, paginated: true, response: z.array(reviewOutput), ok: [200, "A page of reviews"] },
  { method: "get", path: "/reviews/{id}", tag: "reviews", summary: "A review with the pull request's changed files", response: reviewDetailOutput, ok: [200, "The review"] },
  { method: "post", path: "/reviews/{id}/verdict", tag: "reviews", summary: "Submit a review's verdict and comments", body: verdictBody, response: verdictOutput, ok: [200, "The review"], errors: [409, 422] },
];

const webhooks: ApiRoute[] = [
  { method: "post", path: "/webhooks", tag: "webhooks", summary: "Register an inbound webhook (its secret is shown once)", body: createWebhookBody, examples: { events: ["*"] }, response: webhookWithSecretOutput, ok: [201, "The webhook with its secret and receive URL"], errors: [403, 404, 422] },
  { method: "get", path: "/webhooks", tag: "webhooks", summary: "List webhooks", response: z.array(webhookOutput), ok: [200, "Webhooks"] },
  { method: "get", path: "/webhooks/{id}", tag: "webhooks", summary: "A webhook", response: webhookOutput, ok: [200, "The webhook"] },
  { method: "patch", path: "/webhooks/{id}", tag: "webhooks", summary: "Change a webhook", body: updateWebhookBody, examples: { events: ["*"] }, response: webhookOutput, ok: [200, "The webhook"], errors: [403, 422] },
  { method: "delete", path: "/webhooks/{id}", tag: "webhooks", summary: "Delete a webhook and its deliveries", ok: [204, "Deleted"] },
  { method: "post", path: "/webhooks/{id}/regenerate-secret", tag: "webhooks", summary: "New secret, the old one kept for a grace period", body: regenerateSecretBody, response: webhookWithSecretOutput, ok: [200, "The webhook with its new secret"] },
  { method: "get", path: "/webhooks/{id}/deliveries", tag: "webhooks", summary: "The delivery log", query: listDeliveriesQuery, paginated: true, response: z.array(deliveryListItemOutput), ok: [200, "A page of deliveries"] },
  { method: "get", path: "/webhooks/{id}/deliveries/{deliveryId}", tag: "webhooks", summary: "One delivery with its payload (null once retention has dropped it)", response: deliveryOutput, ok: [200, "The delivery"] },
  { method: "post", path: "/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag: "webhooks", summary: "Queue a failed delivery again", response: redeliveryOutput, ok: [202, "Queued"], errors: [409] },
  {
    method: "post",
    path: "/webhooks/{id}/receive",
    tag: "webhooks",
    summary: "Receive a delivery (GitHub or a custom sender), signed with the webhook's secret",
    access: "signature",
    response: receiveAnswerOutput,
    ok: [202, "Stored for the worker (or ignored: not subscribed)"],
  },
];

const outbound: ApiRoute[] = [
  { method: "post", path: "/outbound-webhooks", tag: "outbound", summary: "Register an outbound endpoint (its signing secret is shown once)", body: createOutboundWebhookBody, examples: { url: "https://ci.example.com/entourage-events", events: ["task.*"] }, response: outboundWebhookWithSecretOutput, ok: [201, "The endpoint with its secret"], errors: [422] },
  { method: "get", path: "/outbound-webhooks", tag: "outbound", summary: "List outbound endpoints", query: listOutboundWebhooksQuery, paginated: true, response: z.array(outboundWebhookOutput), ok: [200, "A page of endpoints"] },
  { method: "get", path: "/outbound-webhooks/{id}", tag: "outbound", summary: "An outbound endpoint", response: outboundWebhookOutput, ok: [200, "The endpoint"] },
  { method: "patch", path: "/outbound-webhooks/{id}", tag: "outbound", summary: "Change an outbound endpoint", body: updateOutboundWebhookBody, examples: { url: "https://ci.example.com/entourage-events" }, response: outboundWebhookOutput, ok: [200, "The endpoint"], errors: [422] },
  { method: "delete", path: "/outbound-webhooks/{id}", tag: "outbound", summary: "Delete an outbound endpoint", ok: [204, "Deleted"] },
  { method: "post", path: "/outbound-webhooks/{id}/rotate-secret", tag: "outbound", summary: "New signing secret (the old one signs too for a while)", response: outboundWebhookWithSecretOutput, ok: [200, "The endpoint with its new secret"] },
  { method: "get", path: "/outbound-webhooks/{id}/deliveries", tag: "outbound", summary: "An endpoint's deliveries", query: listOutboundDeliveriesQuery, paginated: true, response: z.array(outboundDeliveryOutput), ok: [200, "A page of outbound deliveries"] },
  { method: "get", path: "/outbound-webhooks/{id}/deliveries/{deliveryId}", tag: "outbound", summary: "One outbound delivery with its attempts", response: outboundDeliveryOutput, ok: [200, "The delivery"] },
  { method: "post", path: "/outbound-webhooks/{id}/deliveries/{deliveryId}/redeliver", tag: "outbound", summary: "Send an outbound delivery again", response: outboundDeliveryOutput, ok: [202, "Queued"], errors: [409] },
];

const github: ApiRoute[] = [
  { method: "get", path: "/github/unrouted-deliveries", tag: "github", summary: "App deliveries no linked installation could take", query: unroutedQuery, paginated: true, response: z.array(unroutedDeliveryOutput), ok: [200, "A page of unrouted deliveries"], errors: [403] },
  { method: "get", path: "/github/app", tag: "github", summary: "The GitHub App: whether and how it is configured (never a secret)", response: githubAppOutput, ok: [200, "The App's state"] },
  { method: "post", path: "/github/app/manifest", tag: "github", summary: "Start registering the App from its manifest (instance org)", body: manifestBody, response: manifestOutput, ok: [201, "Where to post the manifest, with a single-use state"], errors: [403, 409] },
  { method: "post", path: "/github/app/install", tag: "github", summary: "Where to send the browser to install the App for the caller's org", response: installUrlOutput, ok: [201, "The install URL and state"], errors: [503] },
  { method: "get", path: "/github/installations", tag: "github", summary: "The caller's linked installations and the repositories they cover", response: z.array(installationOutput), ok: [200, "Installations"] },
  { method: "post", path: "/github/installations/{id}/link", tag: "github", summary: "Link an App installation to an org (instance org)", body: linkBody, response: installationLinkOutput, ok: [200, "The link"], errors: [403, 409, 422, 503] },
  { method: "patch", path: "/github/installations/{id}", tag: "github", summary: "Route one of the caller's installations to another team", body: patchInstallationBody, response: installationOutput, ok: [200, "The installation"] },
  { method: "get", path: "/github/actions", tag: "github", summary: "Writes to GitHub (comments, reviews, closes) and how they went", query: actionsQuery, paginated: true, response: z.array(githubActionOutput), ok: [200, "A page of GitHub actions"] },
];

const stats: ApiRoute[] = [
  {
    method: "get",
    path: "/stats/deliveries",
    tag: "stats",
    summary: "The org's deliveries per bucket by status over a window (default 1h in 1m buckets), with the received backlog and its oldest delivery's age",
    query: deliveryStatsQuery,
    response: deliveryStatsOutput,
    ok: [200, "Buckets (oldest first, the last one is current), totals and the backlog"],
    errors: [422],
  },
];

const platform: ApiRoute[] = [
  { method: "get", path: "/events", tag: "events", summary: "The org's domain events as Server-Sent Events (resume with Last-Event-ID)", access: "events", query: eventsQuery, ok: [200, "text/event-stream"], errors: [503] },
  { method: "get", path: "/openapi.json", tag: "meta", summary: "This document", access: "public", ok: [200, "OpenAPI 3.1 document"] },
];

/** Every /api/v1 route. A test walks the Express router and the receive listener to keep this list whole. */
export const API_ROUTES: ApiRoute[] = [...apiKeys, ...teams, ...tasks, ...reviews, ...webhooks, ...outbound, ...github, ...stats, ...platform];
