import type { z } from "zod";
import type { Tx } from "../db/client.ts";
import type { healthConfig } from "../config/core_config.ts";
import { missingTables } from "../detectors/pack_status.ts";

export type HealthThresholds = z.infer<typeof healthConfig.schema>;
export type HealthStatus = "HEALTHY" | "WARNING" | "CRITICAL";

/** A written `system_health_snapshots` row plus why it has the status it has. */
export interface HealthSnapshot {
  snapshot_id: number;
  snapshot_timestamp: Date;
  avg_processing_time_ms: number | null;
  success_rate_percent: number | null;
  total_transactions_last_hour: number;
  monitoring_events_last_hour: number;
  open_critical_events: number;
  overall_health_status: HealthStatus;
  reasons: string[];
  details: Record<string, unknown>;
}

interface Figures {
  avg_processing_time_ms: number | null;
  monitoring_events_last_hour: number;
  open_critical_events: number;
  runs_ok: number;
  runs_failed: number;
  open_breakers: string[];
}

/**
 * Grades figures against the ops guide: success rate below 98 % warns and below
 * 95 % is critical; detection slower than 5 s warns and than 10 s is critical; one
 * or more open CRITICAL events warn, more than three are critical.
 */
export function gradeHealth(
  figures: {
    success_rate_percent: number | null;
    avg_processing_time_ms: number | null;
    open_critical_events: number;
  },
  t: HealthThresholds,
): { status: HealthStatus; reasons: string[] } {
  const critical: string[] = [];
  const warning: string[] = [];
  const rate = figures.success_rate_percent;
  if (rate !== null) {
    if (rate < t.success_rate_critical_percent) critical.push(`success rate ${rate.toFixed(1)}%`);
    else if (rate < t.success_rate_warning_percent) {
      warning.push(`success rate ${rate.toFixed(1)}%`);
    }
  }
  const ms = figures.avg_processing_time_ms;
  if (ms !== null) {
    if (ms > t.detection_ms_critical) critical.push(`detection takes ${Math.round(ms)} ms`);
    else if (ms > t.detection_ms_warning) warning.push(`detection takes ${Math.round(ms)} ms`);
  }
  const open = figures.open_critical_events;
  if (open > t.open_critical_critical) critical.push(`${open} open critical events`);
  else if (open >= t.open_critical_warning) warning.push(`${open} open critical events`);
  if (critical.length) return { status: "CRITICAL", reasons: [...critical, ...warning] };
  if (warning.length) return { status: "WARNING", reasons: warning };
  return { status: "HEALTHY", reasons: [] };
}

/** Computes the last hour's figures in SQL, grades them and writes a snapshot row. */
export async function takeHealthSnapshot(
  sql: Tx,
  thresholds: HealthThresholds,
): Promise<HealthSnapshot> {
  const [figures] = await sql<Figures[]>`
    select
      (select avg(duration_ms) from monitoring_cycles
        where started_at > now() - interval '1 hour' and status in ('ok', 'partial')
          and tiers && array['critical', 'medium']) as avg_processing_time_ms,
      (select count(*)::int from monitoring_events
        where detection_timestamp > now() - interval '1 hour' and event_type <> 'system_health')
        as monitoring_events_last_hour,
      (select count(*)::int from monitoring_events
        where status in ('OPEN', 'ACKNOWLEDGED') and severity = 'CRITICAL') as open_critical_events,
      (select count(*)::int from monitoring_detector_runs
        where started_at > now() - interval '1 hour' and status = 'ok') as runs_ok,
      (select count(*)::int from monitoring_detector_runs
        where started_at > now() - interval '1 hour' and status = 'failed') as runs_failed,
      (select coalesce(array_agg(name order by name), '{}') from monitoring_circuit_breakers
        where state <> 'closed') as open_breakers`;

  let festival = { total: 0, completed: 0, failed: 0 };
  const hasFestival = (await missingTables(sql, ["app_transaction_log"])).length === 0;
  if (hasFestival) {
    [festival] = await sql<typeof festival[]>`
      select count(*)::int as total,
        count(*) filter (where status = 'completed')::int as completed,
        count(*) filter (where status = 'failed')::int as failed
      from app_transaction_log where "timestamp" > now() - interval '1 hour'`;
  }
  const finished = festival.completed + festival.failed;
  const successRate = finished > 0 ? (100 * festival.completed) / finished : null;
  const graded = gradeHealth({
    success_rate_percent: successRate,
    avg_processing_time_ms: figures.avg_processing_time_ms,
    open_critical_events: figures.open_critical_events,
  }, thresholds);
  const details = {
    reasons: graded.reasons,
    festival: hasFestival ? festival : "skipped: tables missing",
    detector_runs_last_hour: { ok: figures.runs_ok, failed: figures.runs_failed },
    open_breakers: figures.open_breakers,
    thresholds,
  };
  const [row] = await sql<Omit<HealthSnapshot, "reasons">[]>`
    insert into system_health_snapshots (
      avg_processing_time_ms, success_rate_percent, total_transactions_last_hour,
      monitoring_events_last_hour, open_critical_events, overall_health_status, details)
    values (
      ${figures.avg_processing_time_ms}, ${successRate}, ${festival.total},
      ${figures.monitoring_events_last_hour}, ${figures.open_critical_events}, ${graded.status},
      ${sql.json(details as never)})
    returning *`;
  return { ...row, reasons: graded.reasons };
}
