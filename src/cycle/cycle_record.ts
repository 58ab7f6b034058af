import type { Sql } from "../db/client.ts";
import type { Tier } from "../detectors/types.ts";
import type { CycleSummary, DetectorOutcome } from "./run_cycle.ts";

/** A detector run waiting to be written, with when it started (`performance.now()`). */
export interface PendingRun {
  outcome: DetectorOutcome;
  startedAt: number;
}

/** Writes the row of a cycle that has just taken its leases (status `running`). */
export async function recordCycleStart(
  sql: Sql,
  cycle: { cycleId: string; tiers: readonly Tier[]; trigger: string; startedAt: Date },
): Promise<void> {
  await sql`
    insert into monitoring_cycles (cycle_id, tiers, trigger, started_at)
    values (${cycle.cycleId}, ${cycle.tiers as Tier[]}, ${cycle.trigger}, ${cycle.startedAt})`;
}

/**
 * Writes a cycle's detector runs in one statement, in the order they ran. One
 * insert per cycle rather than one per detector: a round trip is worth more than
 * the milliseconds an empty critical cycle does real work. Each run's
 * `started_at` is the database clock minus the time elapsed since it started.
 */
export async function recordRuns(
  sql: Sql,
  cycleId: string,
  runs: readonly PendingRun[],
): Promise<void> {
  if (runs.length === 0) return;
  const now = performance.now();
  const rows = runs.map(({ outcome, startedAt }, seq) => ({
    seq,
    tier: outcome.tier,
    detector_id: outcome.detector,
    pack: outcome.pack,
    mode: outcome.mode,
    status: outcome.status,
    ago_ms: Math.max(0, now - startedAt),
    duration_ms: outcome.duration_ms,
    rows_examined: outcome.rows_examined,
    findings: outcome.findings,
    new_events: outcome.new_events,
    resolved_events: outcome.resolved_events,
    error: outcome.error ?? outcome.reason ?? null,
  }));
  await sql`
    insert into monitoring_detector_runs (
      cycle_id, tier, detector_id, pack, mode, status, started_at, duration_ms, rows_examined,
      findings, new_events, resolved_events, error)
    select ${cycleId}, r.tier, r.detector_id, r.pack, r.mode, r.status,
      now() - make_interval(secs => r.ago_ms / 1000), r.duration_ms, r.rows_examined,
      r.findings, r.new_events, r.resolved_events, r.error
    from jsonb_to_recordset(${sql.json(rows as never)}) as r(
      seq int, tier text, detector_id text, pack text, mode text, status text,
      ago_ms float8, duration_ms numeric, rows_examined bigint, findings int, new_events int,
      resolved_events int, error text)
    order by r.seq`;
}

/** Stores a finished cycle's status, duration and summary (without examples and reports). */
export async function recordCycleEnd(sql: Sql, summary: CycleSummary): Promise<void> {
  await sql`
    update monitoring_cycles set status = ${summary.status}, finished_at = now(),
      duration_ms = ${summary.duration_ms}, summary = ${
    sql.json(summaryForStorage(summary) as never)
  }
    where cycle_id = ${summary.cycle_id}`;
}

function summaryForStorage(summary: CycleSummary) {
  return {
    totals: summary.totals,
    detectors: summary.detectors.map(({ examples: _examples, report: _report, ...rest }) => rest),
    config_errors: summary.config_errors,
    hooks: summary.hooks,
  };
}
