export interface BoundedFetch {
  fetch: typeof globalThis.fetch;
  /** Cuts every call in flight and refuses new ones (shutdown). */
  abortAll(reason: string): void;
}

/**
 * A fetch for Octokit where every call gives up after `timeoutMs`, and all of them can be cut at
 * once. A hung call fails as an `AbortError`, which Octokit passes through without its retries
 * (it retries other failures up to three times, 1 + 4 + 9 s apart), so a call really ends then.
 */
export function createBoundedFetch(timeoutMs: number, what = "GitHub"): BoundedFetch {
  const shutdown = new AbortController();
  const bounded: typeof globalThis.fetch = async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signals = [timeout, shutdown.signal, ...(init.signal ? [init.signal] : [])];
    try {
      return await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      if (!timeout.aborted && !shutdown.signal.aborted) throw error;
      const message = shutdown.signal.aborted ? String(shutdown.signal.reason) : `no answer from ${what} within ${timeoutMs / 1000} s`;
      throw Object.assign(new Error(message, { cause: error }), { name: "AbortError" });
    }
  };
  return { fetch: bounded, abortAll: (reason) => shutdown.abort(reason) };
}
