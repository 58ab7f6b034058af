import type { Tier } from "../detectors/types.ts";
import { TIERS } from "../detectors/types.ts";
import type { Logger } from "../log/logger.ts";
import { errorMessage } from "../log/logger.ts";

/** A clock the scheduler reads and sleeps on; tests pass a controllable one. */
export interface SchedulerClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: SchedulerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    }),
};

/** Options for {@linkcode startTierScheduler}. */
export interface TierSchedulerOptions {
  /** Seconds between cycles of each tier. */
  intervals: Record<Tier, number>;
  /** Starts one cycle of `tier`; resolves when it finished (any outcome). */
  runTier(tier: Tier): Promise<unknown>;
  log: Logger;
  clock?: SchedulerClock;
  /** Fraction of the interval added at random, so many processes do not fire in step. */
  jitter?: number;
  tiers?: readonly Tier[];
}

/** A running scheduler; `stop()` waits for running cycles to finish. */
export interface TierScheduler {
  stop(): Promise<void>;
  /** How many cycles each tier has started. */
  started: Record<Tier, number>;
}

/**
 * Runs each tier on its own interval, in-process. A tier whose previous cycle is
 * still running is not started again (the next start waits for it); across
 * processes the cycle lease does the same. The first cycle of each tier runs at once.
 */
export function startTierScheduler(options: TierSchedulerOptions): TierScheduler {
  const clock = options.clock ?? realClock;
  const jitter = options.jitter ?? 0.1;
  const controller = new AbortController();
  const started = Object.fromEntries(TIERS.map((tier) => [tier, 0])) as Record<Tier, number>;
  const loops = (options.tiers ?? TIERS).map(async (tier) => {
    while (!controller.signal.aborted) {
      const began = clock.now();
      started[tier]++;
      try {
        await options.runTier(tier);
      } catch (error) {
        options.log.error("scheduled cycle failed", { tier, error: errorMessage(error) });
      }
      const interval = options.intervals[tier] * 1000;
      const wait = Math.max(0, interval - (clock.now() - began)) +
        Math.random() * jitter * interval;
      await clock.sleep(wait, controller.signal);
    }
  });
  return {
    started,
    async stop() {
      controller.abort();
      await Promise.all(loops);
    },
  };
}
