import type { Tier } from "../detectors/types.ts";
import { TIERS } from "../detectors/types.ts";
import type { Logger } from "../log/logger.ts";
import { errorMessage } from "../log/logger.ts";

/** A clock the scheduler reads and sleeps on; tests pass a controllable one. */
export interface SchedulerClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: SchedulerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    }),
};

/** Seconds between cycles of each tier (the `tiers` config row). */
export type TierIntervals = Record<Tier, number>;

/** Options for {@linkcode startTierScheduler}. */
export interface TierSchedulerOptions {
  /**
   * Seconds between cycles of each tier, or a loader asked before each wait so a
   * changed `tiers` config row takes effect without a restart. A loader that fails
   * keeps the last intervals.
   */
  intervals: TierIntervals | (() => Promise<TierIntervals>);
  /** Starts one cycle of `tier`; resolves when it finished (any outcome). */
  runTier(tier: Tier): Promise<unknown>;
  log: Logger;
  clock?: SchedulerClock;
  /** Fraction of the interval added at random (default 0.1), so processes do not fire in step. */
  jitter?: number;
  /** Source of randomness in [0, 1) for the jitter (tests pin it). */
  random?: () => number;
  tiers?: readonly Tier[];
}

/** What one tier's loop has done. */
export interface TierLoopStats {
  /** Cycles started. */
  started: number;
  /** Cycles that finished after their next start was due (that start waited for them). */
  overran: number;
}

/** A running scheduler; `stop()` waits for running cycles to finish. */
export interface TierScheduler {
  stop(): Promise<void>;
  /** How many cycles each tier has started. */
  started: Record<Tier, number>;
  stats: Record<Tier, TierLoopStats>;
}

/**
 * Runs each tier on its own interval, in-process. A tier runs as one loop, so a
 * cycle still running is never started again: its next start waits for it and
 * then runs at once (counted in `overran`) instead of piling up. Starts are spaced
 * by the interval measured from the previous start, plus a random jitter of up to
 * `jitter` x interval. Across processes the cycle lease refuses a second runner.
 * The first cycle of each tier runs at once.
 */
export function startTierScheduler(options: TierSchedulerOptions): TierScheduler {
  const clock = options.clock ?? realClock;
  const jitter = options.jitter ?? 0.1;
  const random = options.random ?? Math.random;
  const controller = new AbortController();
  const tiers = options.tiers ?? TIERS;
  const stats = Object.fromEntries(
    TIERS.map((tier) => [tier, { started: 0, overran: 0 }]),
  ) as Record<Tier, TierLoopStats>;
  const started = Object.fromEntries(TIERS.map((tier) => [tier, 0])) as Record<Tier, number>;
  let current = typeof options.intervals === "function" ? null : options.intervals;

  async function intervalOf(tier: Tier): Promise<number> {
    if (typeof options.intervals === "function") {
      try {
        current = await options.intervals();
      } catch (error) {
        if (!current) throw error;
        options.log.warn("cannot reload tier intervals; keeping the last ones", {
          error: errorMessage(error),
        });
      }
    }
    return current![tier] * 1000;
  }

  async function loop(tier: Tier): Promise<void> {
    while (!controller.signal.aborted) {
      const began = clock.now();
      stats[tier].started++;
      started[tier]++;
      try {
        await options.runTier(tier);
      } catch (error) {
        options.log.error("scheduled cycle failed", { tier, error: errorMessage(error) });
      }
      if (controller.signal.aborted) break;
      let interval: number;
      try {
        interval = await intervalOf(tier);
      } catch (error) {
        options.log.error("cannot load tier intervals; scheduler stops", {
          tier,
          error: errorMessage(error),
        });
        return;
      }
      const elapsed = clock.now() - began;
      if (elapsed > interval) {
        stats[tier].overran++;
        options.log.warn("cycle overran its interval", {
          tier,
          elapsed_ms: elapsed,
          interval_ms: interval,
        });
      }
      const wait = Math.max(0, interval - elapsed) + random() * jitter * interval;
      await clock.sleep(wait, controller.signal);
    }
  }

  const loops = tiers.map((tier) => loop(tier));
  return {
    started,
    stats,
    async stop() {
      controller.abort();
      await Promise.all(loops);
    },
  };
}
