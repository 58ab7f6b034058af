import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { cycle, outcomeOf, setup } from "./_helpers/app.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { setCards } from "./_helpers/festival_data.ts";

/** Inserts one event `ageDays` old (detected, updated and, when closed, resolved then). */
async function insertEvent(sql: Sql, status: string, ageDays: number): Promise<number> {
  const at = new Date(Date.now() - ageDays * 86_400_000);
  const closed = status === "RESOLVED" || status === "FALSE_POSITIVE";
  const [row] = await sql<{ event_id: number }[]>`
    insert into monitoring_events (
      event_type, severity, status, detection_algorithm, pack, title, fingerprint,
      occurred_at, detection_timestamp, created_at, updated_at, resolved_at)
    values (
      'balance_discrepancy', 'CRITICAL', ${status}, 'balance_mismatch_detection', 'festival',
      ${`${status} ${ageDays}d`}, ${crypto.randomUUID()}, ${at}, ${at}, ${at}, ${at},
      ${closed ? at : null})
    returning event_id`;
  return row.event_id;
}

async function setRetention(sql: Sql, value: Record<string, number>): Promise<void> {
  await sql`
    insert into monitoring_config (key, value) values ('retention', ${sql.json(value)})
    on conflict (key) do update set value = excluded.value`;
}

async function count(sql: Sql, table: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
  return row.n;
}

Deno.test("retention_cleanup deletes only closed events past their retention and keeps live ones of any age", async () => {
  const db = await createTestDatabase();
  try {
    const { sql } = db;
    const keep = [
      await insertEvent(sql, "OPEN", 400),
      await insertEvent(sql, "ACKNOWLEDGED", 400),
      await insertEvent(sql, "RESOLVED", 20),
      await insertEvent(sql, "FALSE_POSITIVE", 5),
    ];
    const old = [
      await insertEvent(sql, "RESOLVED", 40),
      await insertEvent(sql, "FALSE_POSITIVE", 100),
    ];
    // An alert of an old event: sent ones past alerts_days go, pending ones never do.
    await sql`
      insert into alert_history (event_id, channel, status, dedup_key, created_at)
      values (${old[0]}, 'slack', 'sent', 'a', now() - interval '40 days'),
             (${old[0]}, 'slack', 'pending', 'b', now() - interval '40 days'),
             (${keep[0]}, 'slack', 'sent', 'c', now() - interval '2 days')`;
    await sql`
      insert into system_health_snapshots (snapshot_timestamp, overall_health_status)
      values (now() - interval '8 days', 'HEALTHY'), (now() - interval '1 day', 'HEALTHY')`;
    await sql`
      insert into monitoring_cycles (cycle_id, tiers, status, started_at) values
        (${crypto.randomUUID()}, '{critical}', 'ok', now() - interval '8 days'),
        (${crypto.randomUUID()}, '{critical}', 'running', now() - interval '8 days'),
        (${crypto.randomUUID()}, '{critical}', 'ok', now() - interval '1 day')`;
    await sql`
      insert into monitoring_detector_runs (cycle_id, tier, detector_id, pack, status, started_at)
      values (${crypto.randomUUID()}, 'critical', 'x', 'festival', 'ok', now() - interval '8 days'),
             (${crypto.randomUUID()}, 'critical', 'x', 'festival', 'ok', now() - interval '1 day')`;
    // Silences: one that ended 40 days ago goes with the alerts of its time; one that
    // ended yesterday and one still running stay.
    await sql`
      insert into alert_silences (matchers, starts_at, ends_at, created_by, comment) values
        ('["pack=festival"]', now() - interval '41 days', now() - interval '40 days', 'ops', 'old'),
        ('["pack=festival"]', now() - interval '2 days', now() - interval '1 day', 'ops', 'recent'),
        ('["pack=festival"]', now() - interval '1 hour', now() + interval '1 hour', 'ops', 'live')`;
    await setRetention(sql, {
      events_days: 30,
      alerts_days: 30,
      snapshots_days: 7,
      detector_runs_days: 7,
      cycles_days: 7,
    });

    const summary = await cycle(sql, { tier: "maintenance", detectors: ["retention_cleanup"] });
    const outcome = outcomeOf(summary, "retention_cleanup");
    assert.equal(outcome.status, "ok");
    const report = outcome.report as Record<string, { deleted: number; more: boolean }>;
    assert.equal(report.events.deleted, 2);
    assert.equal(report.alerts.deleted, 1);
    assert.equal(report.snapshots.deleted, 1);
    assert.equal(report.cycles.deleted, 1);
    assert.equal(report.detector_runs.deleted, 1);
    assert.equal(report.silences.deleted, 1);
    assert.equal(report.events.more, false);
    assert.equal(outcome.rows_examined, 7);
    const silences = await sql<{ comment: string }[]>`
      select comment from alert_silences order by silence_id`;
    assert.deepEqual(silences.map((row) => row.comment), ["recent", "live"]);

    const events = await sql<{ event_id: number }[]>`
      select event_id from monitoring_events order by event_id`;
    assert.deepEqual(events.map((e) => e.event_id), keep);
    const alerts = await sql<{ dedup_key: string; event_id: number | null }[]>`
      select dedup_key, event_id from alert_history order by dedup_key`;
    assert.deepEqual(alerts.map((a) => a.dedup_key), ["b", "c"]);
    assert.equal(alerts[0].event_id, null, "a pending alert outlives its deleted event");
    assert.equal(await count(sql, "system_health_snapshots"), 1);
    // The running cycle stays, and so does the run this cycle just recorded.
    const cycles = await sql<{ status: string }[]>`
      select status from monitoring_cycles where started_at < now() - interval '7 days'`;
    assert.deepEqual(cycles.map((c) => c.status), ["running"]);
    const [runs] = await sql<{ old: number; recent: number }[]>`
      select count(*) filter (where started_at < now() - interval '7 days')::int as old,
        count(*) filter (where started_at >= now() - interval '7 days')::int as recent
      from monitoring_detector_runs`;
    assert.deepEqual(runs, { old: 0, recent: 2 }, "the recent run and this cycle's own run");
  } finally {
    await db.drop();
  }
});

Deno.test("cleanup_monitoring_data(jsonb) deletes in bounded batches and reports what is left", async () => {
  const db = await createTestDatabase();
  try {
    const { sql } = db;
    await sql`
      insert into system_health_snapshots (snapshot_timestamp, overall_health_status)
      select now() - interval '60 days' - g * interval '1 minute', 'HEALTHY'
      from generate_series(1, 250) g`;
    const retention = { snapshots_days: 30, batch_size: 100, max_batches: 2 };
    const [first] = await sql<{ report: Record<string, { deleted: number; more: boolean }> }[]>`
      select cleanup_monitoring_data(${sql.json(retention)}::jsonb) as report`;
    assert.deepEqual(
      { deleted: first.report.snapshots.deleted, more: first.report.snapshots.more },
      { deleted: 200, more: true },
    );
    const [second] = await sql<{ report: Record<string, { deleted: number; more: boolean }> }[]>`
      select cleanup_monitoring_data(${sql.json(retention)}::jsonb) as report`;
    assert.deepEqual(
      { deleted: second.report.snapshots.deleted, more: second.report.snapshots.more },
      { deleted: 50, more: false },
    );
    await assert.rejects(
      sql`select cleanup_monitoring_data(${sql.json({ events_days: 0 })}::jsonb)`,
      /events_days: received 0, expected at least 1 day/,
    );
  } finally {
    await db.drop();
  }
});

Deno.test("cleanup_monitoring_data(int) keeps the runbooks' signature and report", async () => {
  const db = await createTestDatabase();
  try {
    const { sql } = db;
    await insertEvent(sql, "RESOLVED", 10);
    await insertEvent(sql, "OPEN", 10);
    const [row] = await sql<{ report: Record<string, number> }[]>`
      select cleanup_monitoring_data(7) as report`;
    assert.deepEqual(row.report, {
      retention_days: 7,
      events: 1,
      snapshots: 0,
      detector_runs: 0,
      alerts: 0,
      cycles: 0,
      changes: 0,
    });
    await assert.rejects(sql`select cleanup_monitoring_data(0)`, /at least 1/);
  } finally {
    await db.drop();
  }
});

Deno.test("the maintenance tier cleans up, refreshes views, analyzes and sweeps every balance", async () => {
  const db = await createTestDatabase();
  try {
    const { sql } = db;
    await createPlatformTables(sql, ["festival"]);
    await setup(sql);
    // A card whose stored amount has no transactions behind it: only the sweep sees it.
    await setCards(sql, { "SWEEP-1": 25 });
    const summary = await cycle(sql, { tier: "maintenance" });
    assert.equal(summary.status, "ok");
    const refresh = outcomeOf(summary, "refresh_views");
    assert.ok((refresh.report as { analyzed: string[] }).analyzed.includes("monitoring_events"));
    const [view] = await sql<{ populated: boolean }[]>`
      select ispopulated as populated from pg_matviews where matviewname = 'monitoring_daily_summary'`;
    assert.equal(view.populated, true);
    const [stats] = await sql<{ analyzed: boolean }[]>`
      select last_analyze is not null as analyzed from pg_stat_user_tables
      where relname = 'monitoring_events'`;
    assert.equal(stats.analyzed, true);
    const sweep = outcomeOf(summary, "balance_mismatch_detection", "sweep");
    assert.equal(sweep.status, "ok");
    assert.equal(sweep.findings, 1);
    assert.equal(outcomeOf(summary, "retention_cleanup").status, "ok");
  } finally {
    await db.drop();
  }
});
