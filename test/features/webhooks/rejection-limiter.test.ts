import { describe, expect, it } from "vitest";
import { RejectionLimiter } from "../../../src/features/webhooks/rejection-limiter.js";

const MINUTE = 60_000;

/** Takes `count` rejections for `id` at `now`; returns how many were to be written. */
function takeMany(limiter: RejectionLimiter, id: string, count: number, now: number): { recorded: number; suppressed: number[] } {
  const results = Array.from({ length: count }, () => limiter.take(id, now));
  return { recorded: results.filter((r) => r.record).length, suppressed: results.filter((r) => r.record).map((r) => r.suppressed) };
}

describe("RejectionLimiter", () => {
  it("writes perMinute rejections of a webhook a minute and only counts the rest", () => {
    const limiter = new RejectionLimiter(3);
    expect(takeMany(limiter, "a", 5, 0)).toEqual({ recorded: 3, suppressed: [0, 0, 0] });
    expect(limiter.take("a", MINUTE - 1)).toEqual({ record: false, suppressed: 0 });
    // Each webhook has its own allowance.
    expect(takeMany(limiter, "b", 3, 0).recorded).toBe(3);
  });

  it("opens a new window a minute after the first, and the next row written carries the count suppressed before it", () => {
    const limiter = new RejectionLimiter(2);
    takeMany(limiter, "a", 2 + 4, 0); // 4 suppressed
    expect(limiter.take("a", MINUTE)).toEqual({ record: true, suppressed: 4 });
    expect(limiter.take("a", MINUTE + 1)).toEqual({ record: true, suppressed: 0 });
    expect(limiter.take("a", MINUTE + 2)).toEqual({ record: false, suppressed: 0 });
  });

  it("forgets every window once it tracks more than 10,000 webhooks", () => {
    const limiter = new RejectionLimiter(1);
    limiter.take("a", 0);
    expect(limiter.take("a", 0).record).toBe(false);
    for (let i = 1; i < 10_001; i++) limiter.take(`w${i}`, 0); // 10,001 tracked, "a" among them
    expect(limiter.take("a", 0).record).toBe(false);
    limiter.take("one-more", 0); // past the bound: every window starts over
    expect(limiter.take("a", 0)).toEqual({ record: true, suppressed: 0 });
  });
});
