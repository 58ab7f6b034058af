/**
 * Exponential backoff with "equal jitter": half the doubled delay is fixed and
 * half is random, so retries of many rows spread out but never come back sooner
 * than half the schedule. `attempt` counts from 1.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const capped = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(capped / 2 + random() * capped / 2);
}
