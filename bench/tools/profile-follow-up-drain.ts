// How fast a backlog of follow-up issue events drains (not a test): seeds PROFILE_BACKLOG (default 5,000)
// issues.opened and drains them with one worker, then seeds the same number of follow-ups of those
// issues (PROFILE_FOLLOW_UP: closed, labeled or edited; default closed) and drains those.
// Prints deliveries/s and CPU µs per delivery for both, and the top statements of the second.
// PROFILE_CPU_PROF=<dir>: every Entourage process runs with --cpu-prof.
// Run: npm run build && npx tsx bench/tools/profile-follow-up-drain.ts
import path from "node:path";
import type pg from "pg";
import { measureDrain, seedBacklog } from "../lib/drain.js";
import { createIssueDeliveries } from "../lib/issue-payloads.js";
import { loadAverage } from "../lib/processes.js";
import { printStatements, withProfiledEntourage } from "../lib/profiled-entourage.js";

const backlog = Number(process.env.PROFILE_BACKLOG ?? 5_000);
const followUp = process.env.PROFILE_FOLLOW_UP ?? "closed";
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

async function main() {
  const cpuProfDir = process.env.PROFILE_CPU_PROF ? path.resolve(process.env.PROFILE_CPU_PROF) : undefined;
  await withProfiledEntourage({ label: "follow-up", settings: { track_io_timing: "off" }, cpuProfDir }, async (entourage) => {
    const db = entourage.db;
    const webhook = await entourage.createWebhook({ autoAssign });
    const deliveries = createIssueDeliveries(webhook.secret);
    console.log(`load average ${loadAverage()}`);
    await seedBacklog(db, webhook, (n) => deliveries.make(n).body, 5_000_000, backlog);
    await db.query("VACUUM ANALYZE");
    const opened = await measureDrain(entourage, 1);
    console.log(`OPENED: ${opened.backlog} in ${opened.seconds.toFixed(1)} s = ${opened.perSecond.toFixed(0)}/s, ${opened.cpuPerDeliveryUs.toFixed(0)} µs CPU each`);
    await entourage.stopWorkers();
    await seedFollowUps(db, followUp);
    await db.query("VACUUM ANALYZE");
    await db.query("SELECT pg_stat_statements_reset()");
    const db0 = entourage.databaseCpuSeconds();
    const follow = await measureDrain(entourage, 1);
    const dbUs = ((entourage.databaseCpuSeconds() - db0) / follow.backlog) * 1e6;
    console.log(
      `${followUp.toUpperCase()}: ${follow.backlog} in ${follow.seconds.toFixed(1)} s = ${follow.perSecond.toFixed(0)}/s, ` +
        `${follow.cpuPerDeliveryUs.toFixed(0)} µs CPU each, PostgreSQL ${dbUs.toFixed(0)} µs`,
    );
    await printStatements(db, follow.backlog, top);
    const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM deliveries GROUP BY 1 ORDER BY 1`);
    console.log(`deliveries: ${rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
    const tasks = await db.query(`SELECT status, count(*)::int AS n FROM tasks GROUP BY 1 ORDER BY 1`);
    console.log(`tasks: ${tasks.rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
    console.log(`load average ${loadAverage()}`);
  });
}

await main();
