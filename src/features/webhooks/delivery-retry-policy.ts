import { isInvalidValueError } from "../../db/is-invalid-value-error.js";
import { PermanentDeliveryError } from "./permanent-delivery-error.js";

export const DEFAULT_MAX_ATTEMPTS = 5;

/** 2 s, 4 s, 8 s, 16 s … capped at 5 minutes, with ±20 % jitter so retries do not stampede. */
export function defaultBackoff(attempt: number): number {
  const base = Math.min(2 ** attempt, 300);
  return base * (0.8 + Math.random() * 0.4);
}

export interface RetryPolicy {
  /** Attempts before a delivery is marked failed. */
  maxAttempts?: number;
  /** Delay before attempt n+1, in seconds. */
  backoffSeconds?: (attempt: number) => number;
}

/**
 * After attempt `attempts` of a delivery failed with `error`: the seconds until it is tried again,
 * or undefined when it fails for good — its last attempt, or an error that would fail the same
 * way every time (a payload the rules cannot use, a value PostgreSQL refuses).
 */
export function secondsUntilRetry(attempts: number, error: unknown, policy: RetryPolicy = {}): number | undefined {
  const { maxAttempts = DEFAULT_MAX_ATTEMPTS, backoffSeconds = defaultBackoff } = policy;
  const permanent = error instanceof PermanentDeliveryError || isInvalidValueError(error);
  return attempts < maxAttempts && !permanent ? backoffSeconds(attempts) : undefined;
}
