import { vi } from "vitest";

/**
 * vi.waitFor for checks that answer a value rather than assert: polls `check` until it returns a
 * truthy value and resolves with it; fails naming `what` (and the last error) after `timeoutMs`.
 */
export function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  return vi.waitFor(
    async () => {
      const value = await check();
      if (!value) throw new Error(`still waiting for ${what}`);
      return value as NonNullable<T>;
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
