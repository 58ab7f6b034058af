import type { Tx } from "../db/client.ts";
import { TIERS } from "../detectors/types.ts";
import type { HistogramSeries } from "./metrics_writer.ts";
import { MetricsWriter } from "./metrics_writer.ts";

/** Duration bucket bounds in seconds, shared by cycle and detector histograms. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface HistogramRow {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Cumulative bucket counts, sum (seconds) and count of `duration_ms` within a
 * group: one `count(*) filter` per bound, so the whole histogram is one scan.
 */
function histogramColumns(sql: Tx, bounds: readonly number[]) {
  return sql`
    array[${
    bounds.reduce(
      (acc, bound, i) =>
        sql`${acc}${i ? sql`, ` : sql``}count(*) filter (where duration_ms <= ${
          bound * 1000
        }::numeric)`,
      sql``,
    )
  }]::int[] as buckets,
    coalesce(sum(duration_ms) / 1000.0, 0)::float8 as sum, count(*)::int as count`;
}

/**
 * Renders the service's state as Prometheus metrics, every figure aggregated in
 * SQL: open events by severity and pack, cycle and detector durations (histograms
 * over the runs still retained), detector failures, breaker states, the last cycle
 * per tier, and alert deliveries by channel and status.
 */
export async function renderMetrics(sql: Tx): Promise<string> {
  const bounds = DURATION_BUCKETS;
  const open = await sql<{ severity: string; pack: string; n: number }[]>`
    select severity, pack, count(*)::int as n from monitoring_events
    where status in ('OPEN', 'ACKNOWLEDGED') group by 1, 2 order by 1, 2`;
  const cycles = await sql<(HistogramRow & { tier: string })[]>`
    with runs as (
      select tier, c.duration_ms from monitoring_cycles c, unnest(c.tiers) as tier
      where c.duration_ms is not null and c.status <> 'dry_run'
    )
    select tier, ${histogramColumns(sql, bounds)}
    from runs group by tier order by tier`;
  const detectors = await sql<(HistogramRow & { detector_id: string; pack: string })[]>`
    with runs as (
      select detector_id, pack, duration_ms from monitoring_detector_runs
      where status in ('ok', 'failed')
    )
    select detector_id, pack, ${histogramColumns(sql, bounds)}
    from runs group by detector_id, pack order by detector_id, pack`;
  const failures = await sql<{ detector: string; n: number }[]>`
    select detector_id as detector, count(*) filter (where status = 'failed')::int as n
    from monitoring_detector_runs group by 1 order by 1`;
  const breakers = await sql<{ name: string; state: string }[]>`
    select name, state from monitoring_circuit_breakers order by name`;
  const lastCycles = await sql<{ tier: string; at: number }[]>`
    select t.tier, extract(epoch from max(c.started_at))::float8 as at
    from unnest(${TIERS as string[]}::text[]) as t(tier)
    join monitoring_cycles c on t.tier = any(c.tiers) and c.status <> 'dry_run'
    group by t.tier order by t.tier`;
  const deliveries = await sql<{ channel: string; status: string; n: number }[]>`
    select channel, status, count(*)::int as n from alert_history group by 1, 2 order by 1, 2`;

  return new MetricsWriter()
    .gauge(
      "monitoring_open_events",
      "Events with status OPEN or ACKNOWLEDGED.",
      open.map((r) => ({ labels: { severity: r.severity, pack: r.pack }, value: r.n })),
    )
    .histogram(
      "monitoring_cycle_duration_seconds",
      "Duration of recorded cycles per tier (runs still retained).",
      bounds,
      cycles.map(({ tier, ...h }): HistogramSeries => ({ labels: { tier }, ...h })),
    )
    .histogram(
      "monitoring_detector_duration_seconds",
      "Duration of detector runs that executed (runs still retained).",
      bounds,
      detectors.map(({ detector_id, pack, ...h }): HistogramSeries => ({
        labels: { detector: detector_id, pack },
        ...h,
      })),
    )
    .counter(
      "monitoring_detector_failures_total",
      "Detector runs that failed (runs still retained).",
      failures.map((r) => ({ labels: { detector: r.detector }, value: r.n })),
    )
    .gauge(
      "monitoring_circuit_breaker_state",
      "Circuit breaker state: 1 for the current state, 0 for the others.",
      breakers.flatMap((b) =>
        ["closed", "open", "half_open"].map((state) => ({
          labels: { breaker: b.name, state },
          value: b.state === state ? 1 : 0,
        }))
      ),
    )
    .gauge(
      "monitoring_last_cycle_timestamp_seconds",
      "Unix time at which the last cycle of each tier started.",
      lastCycles.map((r) => ({ labels: { tier: r.tier }, value: r.at })),
    )
    .gauge(
      "monitoring_alert_deliveries",
      "Rows of the alert outbox by channel and delivery status.",
      deliveries.map((r) => ({ labels: { channel: r.channel, status: r.status }, value: r.n })),
    )
    .text();
}
