import { describe, expect, it } from "vitest";
import { defaultBackoff, secondsUntilRetry } from "../../../src/features/webhooks/delivery-retry-policy.js";
import { PermanentDeliveryError } from "../../../src/features/webhooks/permanent-delivery-error.js";

describe("delivery retry policy", () => {
  it("retries with the backoff until the last attempt, then fails for good", () => {
    const policy = { maxAttempts: 3, backoffSeconds: (attempt: number) => attempt * 10 };
    expect([1, 2, 3].map((attempt) => secondsUntilRetry(attempt, new Error("db hiccup"), policy))).toEqual([10, 20, undefined]);
  });

  it("fails at once on an error that would fail the same way every time", () => {
    expect(secondsUntilRetry(1, new PermanentDeliveryError("payload is not an issue"))).toBeUndefined();
    expect(secondsUntilRetry(1, Object.assign(new Error("invalid byte sequence"), { code: "22021" }))).toBeUndefined();
    expect(secondsUntilRetry(1, new Error("connection reset"))).toBeGreaterThan(0);
  });

  it("backs off 2, 4, 8 … s within ±20 %, capped at 5 minutes", () => {
    for (const [attempt, base] of [[1, 2], [3, 8], [12, 300]] as const) {
      const delay = defaultBackoff(attempt);
      expect(delay).toBeGreaterThanOrEqual(base * 0.8);
      expect(delay).toBeLessThanOrEqual(base * 1.2);
    }
  });
});
