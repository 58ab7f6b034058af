import type { Sql } from "../db/client.ts";
import type { PackDefinition, Severity } from "../detectors/types.ts";
import { allConfigSpecs } from "../config/all_specs.ts";
import { loadRuntimeConfig } from "../config/runtime_config.ts";
import { listBreakers } from "../breaker/circuit_breaker.ts";
import type { BreakerRow } from "../breaker/circuit_breaker.ts";
import { packAvailability } from "../detectors/pack_status.ts";
import { detectorConfigSpec } from "../detectors/registry.ts";
import { CYCLE_BREAKER, detectorBreaker } from "../cycle/run_cycle.ts";
import { tierFreshness } from "../health/health_check.ts";

/** A section other stages add to `/status` (e.g. alert channels). */
export type StatusSection = (sql: Sql) => Promise<[name: string, value: unknown]>;

interface LastRun {
  detector_id: string;
  status: string;
  started_at: Date;
  duration_ms: number;
  rows_examined: number;
  findings: number;
  error: string | null;
}

/** The transaction holding the change feed's horizon back (the oldest with an xid). */
export interface HorizonHolder {
  pid: number;
  database: string | null;
  application_name: string;
  state: string | null;
  transaction_seconds: number | null;
}

function breakerView(row: BreakerRow | undefined) {
  return {
    state: row?.state ?? "closed",
    failures: row?.failures ?? 0,
    opened_at: row?.opened_at ?? null,
    last_failure_at: row?.last_failure_at ?? null,
    last_error: row?.last_error ?? null,
  };
}

/**
 * Everything an operator asks at 3 a.m.: the cycle breaker, each tier's last cycle
 * and freshness, each detector's breaker and last run, which packs run or are
 * skipped and why, open events by severity and pack, and config rows that failed
 * validation (and are being replaced by defaults).
 */
export async function statusReport(
  sql: Sql,
  packs: readonly PackDefinition[],
  env: Record<string, string | undefined>,
  sections: readonly StatusSection[] = [],
) {
  const config = await loadRuntimeConfig(sql, allConfigSpecs(packs));
  const breakers = new Map((await listBreakers(sql)).map((row) => [row.name, row]));
  const lastRuns = new Map(
    (await sql<LastRun[]>`
      select distinct on (detector_id) detector_id, status, started_at, duration_ms,
        rows_examined, findings, error
      from monitoring_detector_runs
      where started_at > now() - interval '7 days'
      order by detector_id, started_at desc`).map((row) => [row.detector_id, row]),
  );
  const openRows = await sql<{ severity: Severity; pack: string; n: number }[]>`
    select severity, pack, count(*)::int as n from monitoring_events
    where status in ('OPEN', 'ACKNOWLEDGED') group by severity, pack`;
  const bySeverity: Record<Severity, number> = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  const byPack: Record<string, number> = {};
  for (const row of openRows) {
    bySeverity[row.severity] += row.n;
    byPack[row.pack] = (byPack[row.pack] ?? 0) + row.n;
  }

  const packViews = [];
  const detectors = [];
  for (const pack of packs) {
    const availability = await packAvailability(sql, pack, env);
    packViews.push({ id: pack.id, description: pack.description, ...availability });
    for (const detector of pack.detectors) {
      const settings = config.get(detectorConfigSpec(detector)) as { enabled: boolean };
      const last = lastRuns.get(detector.id);
      detectors.push({
        id: detector.id,
        pack: pack.id,
        tier: detector.tier,
        sweep_tier: detector.sweepTier ?? null,
        event_type: detector.eventType,
        severity: detector.severity,
        enabled: settings.enabled,
        available: availability.available,
        skipped_reason: availability.available ? null : availability.reason,
        breaker: breakerView(breakers.get(detectorBreaker(detector.id))),
        last_run: last ?? null,
      });
    }
  }
  const [feed] = await sql<{ pending_changes: number; oldest_pending_at: Date | null }[]>`
    select count(*)::int as pending_changes, min(captured_at) as oldest_pending_at
    from monitoring_changes c
    where c.txid >= coalesce((
      select min((feed.value ->> 'xid')::xid8)
      from monitoring_watermarks w, jsonb_each(w.position -> 'feeds') feed), '0'::xid8)`;
  // Incremental detectors read only below the change feed's horizon (see
  // snapshotHorizon), which the oldest open writing transaction of this database, or
  // of a session hidden from us, holds back: one left open delays all detection.
  const [holder] = await sql<HorizonHolder[]>`
    select pid, datname as database, application_name, state,
      round(extract(epoch from now() - xact_start))::int as transaction_seconds
    from pg_stat_activity
    where backend_xid is not null and pid <> pg_backend_pid()
      and (datname = current_database() or datname is null)
    order by age(backend_xid) desc
    limit 1`;

  const extra: Record<string, unknown> = {};
  for (const section of sections) {
    const [name, value] = await section(sql);
    extra[name] = value;
  }
  return {
    checked_at: new Date().toISOString(),
    circuit_breaker: { name: CYCLE_BREAKER, ...breakerView(breakers.get(CYCLE_BREAKER)) },
    tiers: await tierFreshness(sql),
    packs: packViews,
    detectors,
    open_events: {
      total: openRows.reduce((n, row) => n + row.n, 0),
      by_severity: bySeverity,
      by_pack: byPack,
    },
    breakers: [...breakers.values()].filter((row) => row.state !== "closed").map((row) => ({
      name: row.name,
      ...breakerView(row),
    })),
    change_feed: { ...feed, horizon_held_by: holder ?? null },
    config_errors: config.errors,
    ...extra,
  };
}
