import { pruneHistory, type PruneDeps, type PruneOptions, type RetentionSettings } from "./prune-history.js";

export interface RetentionJob {
  stop(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 10 * 60_000;

/** Runs a retention pass shortly after start and then every `intervalMs` (10 minutes), in the worker role. */
export function startRetention(deps: PruneDeps, settings: RetentionSettings, options: PruneOptions & { intervalMs?: number; firstDelayMs?: number } = {}): RetentionJob {
  const log = deps.logger.child({ component: "retention" });
  let stopped = false;
  let running: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pruneHistory({ ...deps, logger: log }, settings, { pauseMs: 10, ...options })
        .catch((error) => log.error({ err: error }, "retention pass failed; trying again at the next interval"))
        .finally(() => {
          running = undefined;
          schedule(options.intervalMs ?? DEFAULT_INTERVAL_MS);
        });
    }, ms);
    timer.unref();
  };
  const keepsEverything = !settings.DELIVERY_PAYLOAD_RETENTION_DAYS && !settings.DELIVERY_RETENTION_DAYS && !settings.EVENT_RETENTION_DAYS;
  if (!keepsEverything) schedule(options.firstDelayMs ?? 30_000);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
