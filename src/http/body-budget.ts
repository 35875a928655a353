/**
 * Bytes of request bodies held in memory before their signature is checked, across both
 * webhook doors. A stranger's upload costs memory until it is verified, so the sum is bounded:
 * beyond it new uploads are refused (503, Retry-After) before their body is read.
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly capacityBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Reserves `bytes`; false (and nothing reserved) when they do not fit. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.capacityBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
