import assert from "node:assert/strict";
import type { SchedulerClock, TierIntervals } from "../src/schedule/tier_scheduler.ts";
import { startTierScheduler } from "../src/schedule/tier_scheduler.ts";
import type { Tier } from "../src/detectors/types.ts";
import { createLogger } from "../src/log/logger.ts";

/** A clock that only moves when the test advances it. */
class ManualClock implements SchedulerClock {
  private time = 0;
  private timers: { at: number; resolve: () => void }[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = { at: this.time + ms, resolve };
      this.timers.push(timer);
      signal.addEventListener("abort", () => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** Moves time forward, waking each sleeper at its own deadline in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.time = next.at;
      this.timers = this.timers.filter((t) => t !== next);
      next.resolve();
      await settle();
    }
    this.time = end;
  }
}

/** Lets the scheduler's loops run until they wait on the clock again. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

const intervals: TierIntervals = { critical: 30, medium: 120, health: 300, maintenance: 3600 };
const log = createLogger({ test: "scheduler" });

/** Records when each tier started, on the manual clock. */
function recorder(clock: ManualClock) {
  const starts: Record<string, number[]> = {};
  return {
    starts,
    runTier(tier: Tier) {
      (starts[tier] ??= []).push(clock.now() / 1000);
      return Promise.resolve();
    },
  };
}

Deno.test("startTierScheduler() starts each tier at once, then every interval plus its jitter", async () => {
  const clock = new ManualClock();
  const { starts, runTier } = recorder(clock);
  const scheduler = startTierScheduler({
    intervals,
    runTier,
    log,
    clock,
    jitter: 0.1,
    random: () => 0.5,
  });
  await clock.advance(700_000);
  await scheduler.stop();
  // critical: every 30 s + 5 % of 30 s = 31.5 s.
  assert.deepEqual(starts.critical.slice(0, 4), [0, 31.5, 63, 94.5]);
  assert.deepEqual(starts.medium, [0, 126, 252, 378, 504, 630]);
  assert.deepEqual(starts.health, [0, 315, 630]);
  assert.deepEqual(starts.maintenance, [0]);
  assert.equal(scheduler.started.critical, starts.critical.length);
});

Deno.test("startTierScheduler() with no jitter keeps the configured intervals exactly", async () => {
  const clock = new ManualClock();
  const { starts, runTier } = recorder(clock);
  const scheduler = startTierScheduler({
    intervals,
    runTier,
    log,
    clock,
    jitter: 0,
    tiers: ["critical"],
  });
  await clock.advance(120_000);
  await scheduler.stop();
  assert.deepEqual(starts.critical, [0, 30, 60, 90, 120]);
  assert.equal(starts.medium, undefined, "only the tiers asked for run");
});

Deno.test("startTierScheduler() never starts a tier whose cycle is still running", async () => {
  const clock = new ManualClock();
  const starts: number[] = [];
  let finish!: () => void;
  let running = 0;
  let maxRunning = 0;
  const scheduler = startTierScheduler({
    intervals,
    log,
    clock,
    jitter: 0,
    tiers: ["critical"],
    runTier() {
      starts.push(clock.now() / 1000);
      running++;
      maxRunning = Math.max(maxRunning, running);
      // The first cycle hangs until the test lets it finish; later ones are quick.
      if (starts.length === 1) {
        return new Promise<void>((resolve) => finish = resolve).then(() => void running--);
      }
      running--;
      return Promise.resolve();
    },
  });
  await clock.advance(100_000); // more than three intervals with the first cycle stuck
  assert.deepEqual(starts, [0]);
  finish();
  await clock.advance(0);
  // It starts again at once (the start was due), once, then keeps the interval.
  await clock.advance(60_000);
  await scheduler.stop();
  assert.deepEqual(starts, [0, 100, 130, 160]);
  assert.equal(maxRunning, 1);
  assert.equal(scheduler.stats.critical.overran, 1);
});

Deno.test("startTierScheduler() follows changed intervals and keeps the last ones when reloading fails", async () => {
  const clock = new ManualClock();
  const { starts, runTier } = recorder(clock);
  let loaded: TierIntervals | Error = { ...intervals, critical: 10 };
  const scheduler = startTierScheduler({
    intervals: () => loaded instanceof Error ? Promise.reject(loaded) : Promise.resolve(loaded),
    runTier,
    log,
    clock,
    jitter: 0,
    tiers: ["critical"],
  });
  await clock.advance(20_000);
  loaded = { ...intervals, critical: 60 };
  await clock.advance(80_000);
  loaded = new Error("database down");
  await clock.advance(120_000);
  await scheduler.stop();
  // The wait after the start at 20 s was decided then (10 s); from 30 s on it is 60 s,
  // and stays 60 s once reloading fails.
  assert.deepEqual(starts.critical, [0, 10, 20, 30, 90, 150, 210]);
});

Deno.test("stop() waits for the running cycle and starts nothing after", async () => {
  const clock = new ManualClock();
  let finished = false;
  let startedCount = 0;
  const scheduler = startTierScheduler({
    intervals,
    log,
    clock,
    tiers: ["health"],
    runTier: async () => {
      startedCount++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      finished = true;
    },
  });
  await settle();
  await scheduler.stop();
  assert.equal(finished, true);
  await clock.advance(3_600_000);
  assert.equal(startedCount, 1);
});
