import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { EventBus } from "./event-bus.js";
import { createMemoryEventBus } from "./memory-event-bus.js";
import { createRedisEventBus } from "./redis-event-bus.js";

/** Redis pub/sub when REDIS_URL is set (several instances), an in-process emitter otherwise. */
export function createEventBus(config: Pick<Config, "REDIS_URL">, logger: Logger): EventBus {
  return config.REDIS_URL ? createRedisEventBus(config.REDIS_URL, logger) : createMemoryEventBus();
}
