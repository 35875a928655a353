/**
 * Caps how many rejected (bad-signature) requests are written per webhook, so forged traffic
 * cannot fill the database: `perMinute` rows a minute; the rest are only counted, and the
 * count rides on the next row written.
 */
export class RejectionLimiter {
  private readonly windows = new Map<string, { start: number; written: number; suppressed: number }>();

  constructor(private readonly perMinute = 10) {}

  /** Whether to write this rejection, and how many were suppressed before it. */
  take(webhookId: string, now = Date.now()): { record: boolean; suppressed: number } {
    let window = this.windows.get(webhookId);
    if (!window || now - window.start >= 60_000) {
      const carried = window?.suppressed ?? 0;
      window = { start: now, written: 0, suppressed: carried };
      if (this.windows.size > 10_000) this.windows.clear();
      this.windows.set(webhookId, window);
    }
    if (window.written >= this.perMinute) {
      window.suppressed++;
      return { record: false, suppressed: 0 };
    }
    window.written++;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return { record: true, suppressed };
  }
}
