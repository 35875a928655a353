// How fast a backlog of follow-up events drains (not a test): seeds PROFILE_BACKLOG (default 5,000)
// issues.opened and drains them with one worker, then, for each stage of PROFILE_FOLLOW_UP (a comma-separated
// list, default closed), seeds one follow-up per issue and drains those. Stages: closed, labeled, edited (of the
// issue); pr_opened, merged (a pull request that says "Fixes #<issue>", opened or merged).
// Prints deliveries/s and CPU µs per delivery for each, and the top statements of each follow-up stage.
// PROFILE_CPU_PROF=<dir>: every Entourage process runs with --cpu-prof.
// Run: npm run build && npx tsx bench/tools/profile-follow-up-drain.ts
import path from "node:path";
import type pg from "pg";
import { measureDrain, seedBacklog } from "../lib/drain.js";
import { createIssueDeliveries, PULL_REQUEST_MARKERS, pullRequestTemplate } from "../lib/issue-payloads.js";
import { loadAverage } from "../lib/processes.js";
import { printStatements, withProfiledEntourage } from "../lib/profiled-entourage.js";

const backlog = Number(process.env.PROFILE_BACKLOG ?? 5_000);
const stages = (process.env.PROFILE_FOLLOW_UP ?? "closed").split(",");
const PULL_REQUEST_STAGES: Record<string, { merged: boolean; eventType: string } | undefined> = {
  pr_opened: { merged: false, eventType: "pull_request.opened" },
  merged: { merged: true, eventType: "pull_request.merged" },
};
const autoAssign = process.env.PROFILE_AUTO_ASSIGN !== "false";
const top = Number(process.env.PROFILE_TOP ?? 12);

/** Turns the stored issues.opened payloads of the backlog into `action` follow-ups, one per issue, an hour later. */
async function seedFollowUps(db: pg.Pool, action: string): Promise<void> {
  const edit: Record<string, string> = {
    closed: `jsonb_set(jsonb_set(p, '{issue,state}', '"closed"'), '{issue,state_reason}', '"completed"')`,
    labeled: `jsonb_set(jsonb_set(p, '{issue,labels}', '[{"id":1,"name":"bug","color":"f00","default":true,"node_id":"x","url":"https://x","description":null}]'), '{label}', '{"id":1,"name":"bug","color":"f00","default":true,"node_id":"x","url":"https://x","description":null}')`,
    edited: `jsonb_set(jsonb_set(p, '{issue,title}', to_jsonb('Edited ' || (p->'issue'->>'number'))), '{changes}', '{"title":{"from":"old"}}')`,
  };
  if (!edit[action]) throw new Error(`PROFILE_FOLLOW_UP: one of ${Object.keys(edit).join(", ")}`);
  await db.query(
    `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, headers, payload_summary)
     SELECT webhook_id, org_id, gen_random_uuid()::text, 'issues.' || $1, 'received',
            (${edit[action]} || jsonb_build_object('action', $1::text))
              #>> '{}',
            headers, payload_summary || jsonb_build_object('action', $1::text)
       FROM (SELECT webhook_id, org_id, headers, payload_summary,
                    jsonb_set(payload::jsonb, '{issue,updated_at}', to_jsonb(to_char(now() AT TIME ZONE 'UTC' + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS p
               FROM deliveries WHERE event_type = 'issues.opened' AND status = 'processed') AS d`,
    [action],
  );
}

/** One pull request per opened issue, numbered issue + 1,000,000, "Fixes #<issue>", opened or merged an hour later. */
async function seedPullRequests(db: pg.Pool, stage: { merged: boolean; eventType: string }): Promise<void> {
  const { issue, pull, sha } = PULL_REQUEST_MARKERS;
  await db.query(
    `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, headers, payload_summary)
     SELECT webhook_id, org_id, gen_random_uuid()::text, $1, 'received',
            replace(replace(replace($2::text, $3::text, (n + 1000000)::text), $4::text, n::text), $5::text, md5(n::text) || '00000000'),
            jsonb_build_object('x-github-event', 'pull_request', 'content-type', 'application/json'),
            jsonb_build_object('action', $6::text, 'pull_request', jsonb_build_object('number', n + 1000000), 'repository', 'bench/entourage')
       FROM (SELECT webhook_id, org_id, (payload_summary->'issue'->>'number')::int AS n
               FROM deliveries WHERE event_type = 'issues.opened' AND status = 'processed') AS d`,
    [stage.eventType, pullRequestTemplate(stage.merged), pull, issue, sha, stage.merged ? "closed" : "opened"],
  );
}

async function main() {
  const cpuProfDir = process.env.PROFILE_CPU_PROF ? path.resolve(process.env.PROFILE_CPU_PROF) : undefined;
  await withProfiledEntourage({ label: "follow-up", settings: { track_io_timing: "off" }, cpuProfDir }, async (entourage) => {
    const db = entourage.db;
    const pullRequests = stages.some((stage) => PULL_REQUEST_STAGES[stage]);
    const webhook = await entourage.createWebhook({ autoAssign, events: pullRequests ? ["issues.*", "pull_request.*"] : undefined });
    const deliveries = createIssueDeliveries(webhook.secret);
    console.log(`load average ${loadAverage()}`);
    await seedBacklog(db, webhook, (n) => deliveries.make(n).body, 5_000_000, backlog);
    await db.query("VACUUM ANALYZE");
    const opened = await measureDrain(entourage, 1);
    console.log(`OPENED: ${opened.backlog} in ${opened.seconds.toFixed(1)} s = ${opened.perSecond.toFixed(0)}/s, ${opened.cpuPerDeliveryUs.toFixed(0)} µs CPU each`);
    await entourage.stopWorkers();
    for (const stage of stages) {
      const pullRequest = PULL_REQUEST_STAGES[stage];
      if (pullRequest) await seedPullRequests(db, pullRequest);
      else await seedFollowUps(db, stage);
      await db.query("VACUUM ANALYZE");
      await db.query("SELECT pg_stat_statements_reset()");
      const db0 = entourage.databaseCpuSeconds();
      const follow = await measureDrain(entourage, 1);
      await entourage.stopWorkers();
      const dbUs = ((entourage.databaseCpuSeconds() - db0) / follow.backlog) * 1e6;
      console.log(
        `${stage.toUpperCase()}: ${follow.backlog} in ${follow.seconds.toFixed(1)} s = ${follow.perSecond.toFixed(0)}/s, ` +
          `${follow.cpuPerDeliveryUs.toFixed(0)} µs CPU each, PostgreSQL ${dbUs.toFixed(0)} µs`,
      );
      await printStatements(db, follow.backlog, top);
    }
    const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM deliveries GROUP BY 1 ORDER BY 1`);
    console.log(`deliveries: ${rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
    const tasks = await db.query(`SELECT status, count(*)::int AS n FROM tasks GROUP BY 1 ORDER BY 1`);
    console.log(`tasks: ${tasks.rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
    const reviews = await db.query(`SELECT status, count(*)::int AS n FROM reviews GROUP BY 1 ORDER BY 1`);
    if (reviews.rows.length) console.log(`reviews: ${reviews.rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
    console.log(`load average ${loadAverage()}`);
  });
}

await main();
