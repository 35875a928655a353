import type { Knex } from "knex";
import { expect } from "vitest";
import { bootstrapOrg, type BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubExample } from "../../helpers/github-examples.js";
import { request } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

export interface ScenarioWebhook {
  id: string;
  secret: string;
}

/** An org with a team of `engineers` and an admin key, straight into the database. */
export function bootstrapScenarioOrg(knex: Knex, name: string, engineers = 2): Promise<BootstrapResult> {
  return bootstrapOrg(knex, { orgName: name, teamName: "core", engineers });
}

/** Registers a GitHub webhook for issues through the public API of a running instance. */
export async function registerIssuesWebhook(baseUrl: string, org: BootstrapResult): Promise<ScenarioWebhook> {
  const res = await request(baseUrl, "POST", "/api/v1/webhooks", {
    key: org.api_key,
    body: { provider: "github", events: ["issues.*"], config: { team_id: org.team_id, auto_assign: true } },
  });
  if (res.status !== 201) throw new Error(`webhook registration failed: ${res.status} ${res.text}`);
  return { id: res.body.id, secret: res.body.secret };
}

const ISSUE = githubExample("issues", "opened");

/** A real `issues.opened` payload for issue `n` of a repository of its own run (distinct issue per n). */
export function issueOpened(run: string, n: number): Record<string, unknown> {
  const payload = structuredClone(ISSUE);
  payload.issue.number = n + 1;
  payload.issue.id = 9_000_000 + n;
  payload.issue.node_id = `I_faults_${run}_${n}`;
  payload.issue.title = `Fault run ${run}: issue ${n + 1}`;
  payload.issue.html_url = `https://github.com/faults/${run}/issues/${n + 1}`;
  payload.repository.name = run;
  payload.repository.full_name = `faults/${run}`;
  return payload;
}

const FINAL_STATUSES = ["processed", "ignored", "failed"];

/** Waits until every given delivery has left `received` (bounded), then returns their rows. */
export async function waitUntilSettled(knex: Knex, webhookId: string, guids: Iterable<string>, timeoutMs = 60_000) {
  const list = [...guids];
  await waitFor(
    async () => {
      const row = (await knex("deliveries")
        .where({ webhook_id: webhookId })
        .whereIn("delivery_guid", list)
        .whereIn("status", FINAL_STATUSES)
        .count({ n: "*" })
        .first()) as { n: number };
      return row.n === list.length;
    },
    `${list.length} deliveries to be processed`,
    timeoutMs,
    250,
  );
}

/**
 * The core promise: every acknowledged delivery is stored once and processed exactly once —
 * its row is final and not failed, and the worker appended exactly one final event for it.
 */
export async function expectProcessedExactlyOnce(knex: Knex, webhookId: string, acked: Set<string>): Promise<void> {
  const rows = (await knex("deliveries")
    .select("id", "delivery_guid", "status", "error")
    .where({ webhook_id: webhookId })
    .whereIn("delivery_guid", [...acked])) as { id: string; delivery_guid: string; status: string; error: string | null }[];
  expect(rows.length, "every acknowledged delivery is stored").toBe(acked.size);
  const notProcessed = rows.filter((row) => row.status !== "processed" && row.status !== "ignored");
  expect(notProcessed.slice(0, 5), "every acknowledged delivery is processed").toEqual([]);

  const finals = (await knex("events")
    .select(knex.raw("data->>'delivery_id' AS delivery_id"))
    .count({ n: "*" })
    .whereIn("type", ["delivery.processed", "delivery.ignored", "delivery.failed"])
    .whereRaw("data->>'webhook_id' = ?", [webhookId])
    .groupByRaw("data->>'delivery_id'")) as { delivery_id: string; n: number }[];
  const counts = new Map(finals.map((row) => [row.delivery_id, row.n]));
  const wrong = rows.filter((row) => counts.get(row.id) !== 1).map((row) => ({ guid: row.delivery_guid, finalEvents: counts.get(row.id) ?? 0 }));
  expect(wrong.slice(0, 5), "exactly one delivery.processed per delivery").toEqual([]);
}

/**
 * Effects of processing: no task created twice for one source, no task.created announced twice,
 * no engineer holding two open tasks. Vacuous while no rule creates tasks; binding once they do.
 */
export async function expectNoDuplicateWork(knex: Knex, orgId: string): Promise<{ tasks: number }> {
  const duplicatedSources = await knex("tasks")
    .select("source_key")
    .count({ n: "*" })
    .where({ org_id: orgId })
    .whereNotNull("source_key")
    .groupBy("source_key")
    .havingRaw("count(*) > 1");
  expect(duplicatedSources, "at most one task per source").toEqual([]);

  const announcedTwice = await knex("events")
    .select(knex.raw("data->>'task_id' AS task_id"))
    .count({ n: "*" })
    .where({ org_id: orgId, type: "task.created" })
    .groupByRaw("data->>'task_id'")
    .havingRaw("count(*) > 1");
  expect(announcedTwice, "one task.created per task").toEqual([]);

  const doubleBooked = await knex("tasks")
    .select("assignee_id")
    .count({ n: "*" })
    .where({ org_id: orgId })
    .whereNotNull("assignee_id")
    .whereIn("status", ["todo", "in_progress", "in_review"])
    .groupBy("assignee_id")
    .havingRaw("count(*) > 1");
  expect(doubleBooked, "no engineer holds two open tasks").toEqual([]);

  const row = (await knex("tasks").where({ org_id: orgId }).count({ n: "*" }).first()) as { n: number };
  return { tasks: row.n };
}

/** Status counts of a load run's answers, e.g. { "202": 4990, "0": 10 } (0: no answer). */
export function statusCounts(responses: { status: number }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
