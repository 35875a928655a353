import type { Knex } from "knex";
import type { Logger } from "pino";
import type { GithubClient } from "./github-client.js";
import { claimRedeliveryRequest, findRequestedGuids, readRecoveryState, recordRedeliveryOutcome, saveRecoveryState } from "./github-recovery.store.js";
import { findKnownDeliveryGuids } from "./unrouted-deliveries.store.js";

/** One attempt in the App's delivery log (`GET /app/hook/deliveries`). */
interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  status_code: number;
  event?: string;
  action?: string | null;
}

export interface RecoveryOptions {
  /** How far back the first pass looks (GitHub keeps deliveries for 3 days). */
  lookbackMs: number;
  /** Each later pass re-reads this much before the last mark, for attempts listed late. */
  overlapMs: number;
}

export interface RecoveryResult {
  /** Attempts read from GitHub. */
  scanned: number;
  /** GUIDs GitHub was asked to redeliver in this pass. */
  requested: string[];
}

export interface RecoveryDeps {
  knex: Knex;
  github: GithubClient;
  logger: Logger;
}

const MAX_LOOKBACK_MS = 3 * 24 * 3600 * 1000;

/**
 * GitHub does not retry failed deliveries; this is its documented recovery:
 * 1. list the App's delivery attempts, newest first, back to the remembered mark (or the lookback);
 * 2. a GUID none of whose attempts got a 2xx, that Entourage has neither routed nor kept as
 *    unrouted, and that was never asked for before, is redelivered — once, ever;
 * 3. remember the newest attempt seen as the mark for the next pass.
 */
export async function recoverMissedDeliveries(deps: RecoveryDeps, options: RecoveryOptions): Promise<RecoveryResult> {
  const startedAt = new Date();
  const state = await readRecoveryState(deps.knex);
  const floor = startedAt.getTime() - Math.min(options.lookbackMs, MAX_LOOKBACK_MS);
  const since = state ? Math.max(state.checked_through.getTime() - options.overlapMs, floor) : floor;

  const octokit = await deps.github.appOctokit();
  const attempts: HookDelivery[] = [];
  let newest = state?.checked_through.getTime() ?? since;
  try {
    for await (const page of octokit.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 })) {
      const items = page.data as unknown as HookDelivery[];
      let reachedMark = items.length === 0;
      for (const item of items) {
        const at = Date.parse(item.delivered_at);
        if (at < since) {
          reachedMark = true;
          continue;
        }
        newest = Math.max(newest, at);
        attempts.push(item);
      }
      if (reachedMark) break;
    }
  } catch (error) {
    await saveRecoveryState(deps.knex, new Date(state?.checked_through ?? since), `listing deliveries failed: ${(error as Error).message}`);
    throw error;
  }

  const byGuid = new Map<string, HookDelivery[]>();
  for (const attempt of attempts) byGuid.set(attempt.guid, [...(byGuid.get(attempt.guid) ?? []), attempt]);
  const failed = [...byGuid].filter(([, list]) => !list.some((a) => a.status_code >= 200 && a.status_code < 300)).map(([guid]) => guid);
  const known = await findKnownDeliveryGuids(deps.knex, failed);
  const asked = await findRequestedGuids(deps.knex, failed);

  const requested: string[] = [];
  for (const guid of failed) {
    if (known.has(guid) || asked.has(guid)) continue;
    const latest = byGuid.get(guid)!.reduce((a, b) => (Date.parse(b.delivered_at) > Date.parse(a.delivered_at) ? b : a));
    const event = latest.event ? `${latest.event}${latest.action ? `.${latest.action}` : ""}` : null;
    if (!(await claimRedeliveryRequest(deps.knex, { delivery_guid: guid, hook_delivery_id: latest.id, event_type: event, failed_at: new Date(latest.delivered_at) }))) continue;
    try {
      const response = await octokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: latest.id, request: { retries: 0 } });
      await recordRedeliveryOutcome(deps.knex, guid, { status_code: response.status, error: null });
      requested.push(guid);
    } catch (error) {
      // Asked once, as promised; GitHub refuses deliveries older than 3 days (422), for one.
      const status = (error as { status?: number }).status ?? null;
      await recordRedeliveryOutcome(deps.knex, guid, { status_code: status, error: (error as Error).message.slice(0, 1000) });
      deps.logger.warn({ guid, hook_delivery_id: latest.id, status, err: error }, "GitHub refused to redeliver a missed delivery");
    }
  }
  await saveRecoveryState(deps.knex, new Date(newest), null);
  if (requested.length) deps.logger.info({ guids: requested }, `asked GitHub to redeliver ${requested.length} missed deliveries`);
  return { scanned: attempts.length, requested };
}

export interface RecoveryJob {
  /** Runs one pass now (also what the timer does); passes never overlap. */
  runNow(): Promise<RecoveryResult | undefined>;
  stop(): Promise<void>;
}

/** Runs the recovery on start and then every `intervalMs`. */
export function startMissedDeliveriesRecovery(deps: RecoveryDeps, options: RecoveryOptions & { intervalMs: number }): RecoveryJob {
  const logger = deps.logger.child({ component: "github-recovery" });
  let current: Promise<RecoveryResult | undefined> | undefined;
  let stopped = false;
  const runNow = () => {
    if (stopped) return Promise.resolve(undefined);
    current ??= recoverMissedDeliveries({ ...deps, logger }, options)
      .catch((error) => {
        logger.warn({ err: error }, "missed-delivery recovery pass failed; will try again at the next interval");
        return undefined;
      })
      .finally(() => {
        current = undefined;
      });
    return current;
  };
  void runNow();
  const timer = setInterval(() => void runNow(), options.intervalMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
