import assert from "node:assert/strict";
import type { Sql } from "../../src/db/client.ts";
import { PACKS } from "../../src/detectors/registry.ts";
import { allConfigSpecs } from "../../src/config/all_specs.ts";
import { seedRuntimeConfig } from "../../src/config/runtime_config.ts";
import { createTestDatabase } from "./database.ts";
import { createPlatformTables } from "../fixtures/platform_tables.ts";
import type { FixturePack } from "../fixtures/platform_tables.ts";
import { cycle, openEvents, outcomeOf, setup } from "./app.ts";

/** Writes platform rows for one scenario (the tables are emptied before each). */
export type Scenario = (sql: Sql) => Promise<void>;

type LiveEvent = Awaited<ReturnType<typeof openEvents>>[number];

/**
 * One state detector's table of scenarios. Every scenario starts from empty platform
 * tables; the detector's events carry over where the lifecycle needs them.
 */
export interface StateDetectorCase {
  detector: string;
  pack: FixturePack;
  /** Config applied before anything runs (e.g. a time zone where it is midday). */
  config?: Record<string, unknown>;
  /** Breaches: at least one event opens. */
  breach: Scenario;
  /** Checks the events `breach` opened. */
  expectBreach(events: LiveEvent[]): void;
  /** Just on the healthy side of the threshold: no event. */
  nearMiss: Scenario;
  /** Would breach, but on too few samples: no event (absent for plain counts). */
  belowMinimum?: Scenario;
  /** Breaches at one instant or in part of the window only: no event. */
  notHeld?: Scenario;
  /** Healthy traffic: the open event resolves. */
  healthy: Scenario;
  /** A config change (merged into `detector.<id>`) that turns `nearMiss` into a breach. */
  tune: Record<string, unknown>;
}

async function emptyTables(sql: Sql, pack: FixturePack): Promise<void> {
  const tables = PACKS.find((candidate) => candidate.id === pack)!.tables;
  await sql`truncate ${sql(tables as string[])}`;
}

/** Merges `patch` into the detector's `monitoring_config` row, as an operator would. */
export async function tuneDetector(
  sql: Sql,
  detector: string,
  patch: Record<string, unknown>,
): Promise<void> {
  const updated = await sql`
    update monitoring_config set value = value || ${sql.json(patch as never)}, updated_at = now(),
      updated_by = 'test'
    where key = ${`detector.${detector}`}`;
  assert.equal(updated.count, 1, `monitoring_config has no row for detector.${detector}`);
}

async function liveAfter(sql: Sql, detector: string, scenario: Scenario) {
  await scenario(sql);
  const summary = await cycle(sql, { tier: "medium", detectors: [detector] });
  const outcome = outcomeOf(summary, detector);
  assert.equal(outcome.status, "ok", outcome.error ?? outcome.reason);
  return { outcome, events: [...await openEvents(sql, detector)] };
}

/**
 * Registers the lifecycle tests of one state detector: near miss, below minimum,
 * not held, breach without duplicates on re-runs, auto-resolve when the condition
 * clears, a new event when it comes back, and a threshold tuned with an UPDATE.
 */
export function testStateDetector(c: StateDetectorCase): void {
  Deno.test(`${c.detector}: opens one event on a breach, resolves it when it clears, reopens when it returns, and follows tuning`, async (t) => {
    const db = await createTestDatabase();
    const { sql } = db;
    try {
      await createPlatformTables(sql, [c.pack]);
      await setup(sql);
      await seedRuntimeConfig(sql, allConfigSpecs(PACKS));
      if (c.config) await tuneDetector(sql, c.detector, c.config);
      const fresh = async (scenario: Scenario) => {
        await emptyTables(sql, c.pack);
        return await liveAfter(sql, c.detector, scenario);
      };

      await t.step("a near miss just under the threshold opens nothing", async () => {
        assert.deepEqual((await fresh(c.nearMiss)).events, []);
      });
      if (c.belowMinimum) {
        const belowMinimum = c.belowMinimum;
        await t.step("a breach on too few samples opens nothing", async () => {
          assert.deepEqual((await fresh(belowMinimum)).events, []);
        });
      }
      if (c.notHeld) {
        const notHeld = c.notHeld;
        await t.step("a breach that did not hold throughout the window opens nothing", async () => {
          assert.deepEqual((await fresh(notHeld)).events, []);
        });
      }

      let first: LiveEvent[] = [];
      await t.step(
        "a breach opens an event, and re-runs bump it instead of duplicating",
        async () => {
          const { outcome, events } = await fresh(c.breach);
          assert.ok(outcome.new_events >= 1);
          c.expectBreach(events);
          const again = await cycle(sql, { tier: "medium", detectors: [c.detector] });
          assert.equal(outcomeOf(again, c.detector).new_events, 0);
          const rerun = await openEvents(sql, c.detector);
          assert.deepEqual(rerun.map((e) => e.event_id), events.map((e) => e.event_id));
          assert.ok(rerun.every((e) => e.occurrence_count === 2));
          first = rerun;
        },
      );

      await t.step("the event resolves itself when the condition clears", async () => {
        const { outcome, events } = await fresh(c.healthy);
        assert.equal(outcome.resolved_events, first.length);
        assert.deepEqual(events, []);
        const resolved = await sql<{ status: string; resolution_notes: string }[]>`
          select status, resolution_notes from monitoring_events
          where event_id = any(${first.map((e) => e.event_id)}::bigint[])`;
        for (const event of resolved) {
          assert.equal(event.status, "RESOLVED");
          assert.match(event.resolution_notes, /resolved/i);
        }
      });

      await t.step("a later breach opens a new event", async () => {
        const { events } = await fresh(c.breach);
        assert.equal(events.length, first.length);
        const before = new Set(first.map((e) => e.event_id));
        assert.ok(events.every((e) => !before.has(e.event_id)));
      });

      await t.step(
        "a threshold tuned in monitoring_config takes effect on the next cycle",
        async () => {
          await emptyTables(sql, c.pack);
          await cycle(sql, { tier: "medium", detectors: [c.detector] }); // clears what is open
          await tuneDetector(sql, c.detector, c.tune);
          const { events } = await fresh(c.nearMiss);
          assert.ok(events.length >= 1, "the near miss should breach the tuned threshold");
        },
      );
    } finally {
      await db.drop();
    }
  });
}

/** `count` instants spread evenly over the last `minutes`, oldest first, inside the edges. */
export function spread(count: number, minutes: number, margin_seconds = 20): Date[] {
  const now = Date.now();
  const span = minutes * 60_000 - 2 * margin_seconds * 1000;
  return Array.from({ length: count }, (_, i) => {
    const offset = count === 1 ? span / 2 : (span * (count - 1 - i)) / (count - 1);
    return new Date(now - margin_seconds * 1000 - offset);
  });
}

/** Seconds before now, as a Date. */
export function ago(seconds: number): Date {
  return new Date(Date.now() - seconds * 1000);
}

/**
 * A fixed-offset IANA zone (`Etc/GMT±N`) in which it is about midday now, so tests of
 * "today so far" have hours of today behind them whatever the time in UTC.
 */
export function middayTimeZone(now = new Date()): string {
  const shift = ((12 - now.getUTCHours() + 36) % 24) - 12; // local = UTC + shift, in [-12, 11]
  // The Etc zones count the other way round: Etc/GMT-3 is UTC+3.
  return shift > 0 ? `Etc/GMT-${shift}` : `Etc/GMT+${-shift}`;
}
