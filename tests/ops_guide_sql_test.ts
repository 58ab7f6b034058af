// The ops guide's own SQL, run unchanged against the schema: the queries here are
// written as an operator pastes them into the SQL editor, not through our code.
import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { cycle } from "./_helpers/app.ts";

interface EventSeed {
  detector: string;
  severity: "CRITICAL" | "HIGH" | "MEDIUM" | "LOW";
  status: "OPEN" | "ACKNOWLEDGED" | "RESOLVED" | "FALSE_POSITIVE";
  /** Age of detection (and of resolution, for closed events). */
  ageHours: number;
}

/** Inserts events as detectors would have written them, `ageHours` ago. */
async function seedEvents(sql: Sql, seeds: EventSeed[]): Promise<number[]> {
  const ids: number[] = [];
  for (const seed of seeds) {
    const closed = seed.status === "RESOLVED" || seed.status === "FALSE_POSITIVE";
    const [{ event_id }] = await sql<{ event_id: number }[]>`
      insert into monitoring_events (
        event_type, severity, status, detection_algorithm, pack, title, fingerprint,
        occurred_at, detection_timestamp, created_at, updated_at, last_seen_at, resolved_at)
      values (
        ${seed.detector}, ${seed.severity}, ${seed.status}, ${seed.detector}, 'festival',
        ${`${seed.detector} finding`}, ${`${seed.detector}:${crypto.randomUUID()}`},
        now() - make_interval(hours => ${seed.ageHours}),
        now() - make_interval(hours => ${seed.ageHours}),
        now() - make_interval(hours => ${seed.ageHours}),
        now() - make_interval(hours => ${seed.ageHours}),
        now() - make_interval(hours => ${seed.ageHours}),
        ${closed ? sql`now() - make_interval(hours => ${seed.ageHours})` : null})
      returning event_id`;
    ids.push(event_id);
  }
  return ids;
}

Deno.test("the monitoring_system_health view answers the health-check script after a health cycle", async () => {
  const db = await createTestDatabase();
  try {
    const [before] = await db.sql`select * from monitoring_system_health`;
    assert.equal(before.last_snapshot_at, null);
    assert.equal(before.overall_health_status, "WARNING", "no snapshot yet is not healthy");

    await seedEvents(db.sql, [
      { detector: "balance_mismatch_detection", severity: "CRITICAL", status: "OPEN", ageHours: 2 },
      { detector: "consecutive_failures", severity: "HIGH", status: "ACKNOWLEDGED", ageHours: 0 },
    ]);
    await cycle(db.sql, { tier: "health" });
    const [row] = await db.sql`select * from monitoring_system_health`;
    assert.ok(row.last_snapshot_at instanceof Date);
    assert.equal(row.overall_health_status, "WARNING", "one open critical event warns");
    assert.equal(Number(row.open_critical_events), 1);
    assert.equal(Number(row.open_high_events), 1);
    // The two seeded events and the heartbeat.
    assert.equal(Number(row.open_events), 3);
    assert.ok(row.last_cycle_at instanceof Date);
    assert.equal(Number(row.open_breakers), 0);
  } finally {
    await db.drop();
  }
});

Deno.test("cleanup_monitoring_data(30) deletes only old closed history and keeps live events whatever their age", async () => {
  const db = await createTestDatabase();
  try {
    const days = (n: number) => n * 24;
    const [oldResolved, oldFalsePositive, oldOpen, oldAcknowledged, recentResolved] =
      await seedEvents(db.sql, [
        { detector: "a", severity: "CRITICAL", status: "RESOLVED", ageHours: days(40) },
        { detector: "b", severity: "HIGH", status: "FALSE_POSITIVE", ageHours: days(31) },
        { detector: "c", severity: "CRITICAL", status: "OPEN", ageHours: days(90) },
        { detector: "d", severity: "MEDIUM", status: "ACKNOWLEDGED", ageHours: days(60) },
        { detector: "e", severity: "LOW", status: "RESOLVED", ageHours: days(5) },
      ]);
    await db.sql`
      insert into system_health_snapshots (snapshot_timestamp, overall_health_status)
      values (now() - interval '45 days', 'HEALTHY'), (now() - interval '1 day', 'HEALTHY')`;

    const [{ report }] = await db.sql`select cleanup_monitoring_data(30) as report`;
    assert.equal(report.retention_days, 30);
    assert.equal(Number(report.events), 2);
    assert.equal(Number(report.snapshots), 1);

    const left = await db.sql<{ event_id: number }[]>`
      select event_id from monitoring_events order by event_id`;
    assert.deepEqual(left.map((e) => e.event_id), [oldOpen, oldAcknowledged, recentResolved]);
    assert.ok(![oldResolved, oldFalsePositive].some((id) => left.some((e) => e.event_id === id)));
    const [{ snapshots }] = await db.sql`
      select count(*)::int as snapshots from system_health_snapshots`;
    assert.equal(snapshots, 1);

    // Running it again finds nothing more; a retention below one day is refused.
    const [{ report: second }] = await db.sql`select cleanup_monitoring_data(30) as report`;
    assert.equal(Number(second.events), 0);
    await assert.rejects(db.sql`select cleanup_monitoring_data(0)`, /retention_days/);
  } finally {
    await db.drop();
  }
});

Deno.test("refresh_monitoring_views() fills the daily summary, then refreshes it concurrently; the weekly summary reads it", async () => {
  const db = await createTestDatabase();
  try {
    await seedEvents(db.sql, [
      {
        detector: "balance_mismatch_detection",
        severity: "CRITICAL",
        status: "RESOLVED",
        ageHours: 30,
      },
      {
        detector: "balance_mismatch_detection",
        severity: "CRITICAL",
        status: "FALSE_POSITIVE",
        ageHours: 26,
      },
      { detector: "duplicate_nfc_scans", severity: "MEDIUM", status: "OPEN", ageHours: 1 },
    ]);
    await db.sql`select refresh_monitoring_views()`;
    const [{ populated }] = await db.sql`
      select ispopulated as populated from pg_matviews where matviewname = 'monitoring_daily_summary'`;
    assert.equal(populated, true);
    // The second call takes the concurrent path (needs the populated view and its unique index).
    await seedEvents(db.sql, [
      { detector: "duplicate_nfc_scans", severity: "MEDIUM", status: "OPEN", ageHours: 0 },
    ]);
    await db.sql`select refresh_monitoring_views()`;

    const weekly = await db.sql<
      { week: Date; detection_algorithm: string; events: number; false_positives: number }[]
    >`
      select date_trunc('week', day)::date as week, detection_algorithm,
        sum(events)::int as events, sum(false_positives)::int as false_positives
      from monitoring_daily_summary
      where day > current_date - 7
      group by 1, 2
      order by 1 desc, 3 desc, 2`;
    const totals = new Map<string, { events: number; false_positives: number }>();
    for (const row of weekly) {
      const total = totals.get(row.detection_algorithm) ?? { events: 0, false_positives: 0 };
      total.events += row.events;
      total.false_positives += row.false_positives;
      totals.set(row.detection_algorithm, total);
    }
    assert.deepEqual(Object.fromEntries(totals), {
      balance_mismatch_detection: { events: 2, false_positives: 1 },
      duplicate_nfc_scans: { events: 2, false_positives: 0 },
    });
  } finally {
    await db.drop();
  }
});

Deno.test("the runbook's resolve UPDATE, hourly verification and false-positive rate run as written", async () => {
  const db = await createTestDatabase();
  try {
    const [critical] = await seedEvents(db.sql, [
      {
        detector: "balance_deduction_on_failure",
        severity: "CRITICAL",
        status: "OPEN",
        ageHours: 0,
      },
      { detector: "duplicate_nfc_scans", severity: "MEDIUM", status: "OPEN", ageHours: 0 },
      {
        detector: "duplicate_nfc_scans",
        severity: "MEDIUM",
        status: "FALSE_POSITIVE",
        ageHours: 3,
      },
      { detector: "duplicate_nfc_scans", severity: "HIGH", status: "RESOLVED", ageHours: 5 },
      { detector: "consecutive_failures", severity: "HIGH", status: "OPEN", ageHours: 2 },
    ]);

    const resolved = await db.sql`
      update monitoring_events
      set status = 'RESOLVED', resolved_at = now(),
        resolution_notes = 'Refunded 12.00 to the card; terminal bar-3 replaced'
      where event_id = ${critical}`;
    assert.equal(resolved.count, 1);
    const [after] = await db.sql`
      select status, resolved_at, resolution_notes from monitoring_events where event_id = ${critical}`;
    assert.equal(after.status, "RESOLVED");
    assert.ok(after.resolved_at instanceof Date);

    const hourly = await db.sql<{ severity: string; events: number }[]>`
      select severity, count(*)::int as events
      from monitoring_events
      where detection_timestamp > now() - interval '1 hour'
      group by severity
      order by case severity when 'CRITICAL' then 1 when 'HIGH' then 2 when 'MEDIUM' then 3 else 4 end`;
    assert.deepEqual(hourly.map((r) => [r.severity, r.events]), [["CRITICAL", 1], ["MEDIUM", 1]]);

    const rates = await db.sql<
      { detection_algorithm: string; total: number; false_positives: number; rate: number }[]
    >`
      select detection_algorithm,
        count(*)::int as total,
        count(*) filter (where status = 'FALSE_POSITIVE')::int as false_positives,
        round(100.0 * count(*) filter (where status = 'FALSE_POSITIVE') / nullif(count(*), 0), 2)
          as rate
      from monitoring_events
      where detection_timestamp > now() - interval '7 days'
      group by detection_algorithm
      order by rate desc, detection_algorithm`;
    assert.deepEqual(
      rates.map((r) => [r.detection_algorithm, r.total, r.false_positives, r.rate]),
      [
        ["duplicate_nfc_scans", 3, 1, 33.33],
        ["balance_deduction_on_failure", 1, 0, 0],
        ["consecutive_failures", 1, 0, 0],
      ],
    );
  } finally {
    await db.drop();
  }
});
