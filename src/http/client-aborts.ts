import type { Logger } from "pino";

const SUMMARY_INTERVAL_MS = 60_000;

/**
 * Uploads the client abandoned (closed the connection, or timed out) before its body arrived.
 * They are the client's business, not our failure: counted, and summed up in one line a minute
 * at most, never one error line each.
 */
export class ClientAborts {
  count = 0;
  private sinceSummary = 0;
  private lastSummary = 0;

  constructor(private readonly logger: Logger) {}

  record(door: string): void {
    this.count++;
    this.sinceSummary++;
    const now = Date.now();
    if (now - this.lastSummary < SUMMARY_INTERVAL_MS) return;
    this.logger.info({ door, aborted: this.sinceSummary, total: this.count }, "clients abandoned uploads before their body arrived");
    this.lastSummary = now;
    this.sinceSummary = 0;
  }
}
