/**
 * Wraps an async function so that concurrent callers share one in-flight call:
 * while a call runs, every other caller gets its promise; the next call after it
 * settles starts afresh. Nothing is cached beyond the call's own lifetime.
 *
 * `/health` under load uses it: sixteen dashboards or probes asking at once cost
 * one round of health queries, and each still gets an answer computed after it
 * was asked or at most one check's duration before.
 *
 * @example
 * ```ts
 * const check = singleFlight(() => checkHealth(getSql));
 * const [a, b] = await Promise.all([check(), check()]); // one check, same report
 * ```
 */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= fn().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
