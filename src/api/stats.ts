import { z } from "zod";
import type { Tx } from "../db/client.ts";
import { missingTables } from "../detectors/pack_status.ts";

const WINDOWS = { "1h": "1 hour", "24h": "24 hours", "7d": "7 days" } as const;

/** Query of `GET /stats`. */
export const statsQuerySchema = z.object({
  window: z.enum(["1h", "24h", "7d"]).default("24h"),
}).strict();

const percent = z.number().nullable().describe("percent, null when there is nothing to divide by");

const eventStatsSchema = z.object({
  by_severity: z.record(z.string(), z.number().int()),
  by_type: z.array(
    z.object({ event_type: z.string(), severity: z.string(), count: z.number().int() }),
  ),
  open_critical: z.number().int(),
  false_positive_rate: z.array(z.object({
    detector: z.string(),
    closed: z.number().int(),
    false_positives: z.number().int(),
    rate_percent: z.number(),
  })),
  mean_time_to_acknowledge_seconds: z.number().nullable(),
  mean_time_to_resolve_seconds: z.number().nullable(),
});

const exchangeStatsSchema = z.object({
  requests: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  fallback: z.number().int(),
  success_rate_percent: percent,
  fallback_rate_percent: percent,
});

const tradesStatsSchema = z.object({
  orders: z.number().int(),
  filled: z.number().int(),
  fill_rate_percent: percent,
  average_risk_score: z.number().nullable(),
  max_risk_score: z.number().nullable(),
  volume_usd: z.number(),
  fills: z.number().int(),
  failed_fills: z.number().int(),
});

const festivalStatsSchema = z.object({
  transactions: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  success_rate_percent: percent,
  volume: z.number().describe("sum of amount_involved over completed transactions"),
});

/** Answer of `GET /stats`; a pack whose tables are missing is left out. */
export const statsResponseSchema = z.object({
  window: z.enum(["1h", "24h", "7d"]),
  since: z.iso.datetime({ offset: true }),
  events: eventStatsSchema,
  exchange: exchangeStatsSchema.optional(),
  trades: tradesStatsSchema.optional(),
  festival: festivalStatsSchema.optional(),
});
export type Stats = z.infer<typeof statsResponseSchema>;

async function eventStats(sql: Tx, since: Date): Promise<z.infer<typeof eventStatsSchema>> {
  const [row] = await sql<z.infer<typeof eventStatsSchema>[]>`
    with windowed as (
      select severity, event_type from monitoring_events where detection_timestamp >= ${since}
    ),
    closed as (
      select detection_algorithm, status from monitoring_events
      where resolved_at >= ${since} and status in ('RESOLVED', 'FALSE_POSITIVE')
    ),
    acknowledged as (
      select e.detection_timestamp, min(c.changed_at) as acknowledged_at
      from monitoring_event_status_changes c join monitoring_events e using (event_id)
      where c.to_status = 'ACKNOWLEDGED' and c.changed_at >= ${since}
      group by e.event_id, e.detection_timestamp
    )
    select
      (select coalesce(jsonb_object_agg(severity, n), '{}'::jsonb)
         from (select severity, count(*) as n from windowed group by severity) s) as by_severity,
      (select coalesce(jsonb_agg(jsonb_build_object('event_type', event_type, 'severity', severity,
                'count', n) order by n desc, event_type), '[]'::jsonb)
         from (select event_type, severity, count(*) as n from windowed group by 1, 2) t) as by_type,
      (select count(*) from monitoring_events
         where severity = 'CRITICAL' and status in ('OPEN', 'ACKNOWLEDGED'))::int as open_critical,
      (select coalesce(jsonb_agg(jsonb_build_object('detector', detection_algorithm,
                'closed', closed, 'false_positives', fp,
                'rate_percent', round(100.0 * fp / closed, 2)) order by detection_algorithm),
              '[]'::jsonb)
         from (select detection_algorithm, count(*) as closed,
                 count(*) filter (where status = 'FALSE_POSITIVE') as fp
               from closed group by 1) f) as false_positive_rate,
      (select round(avg(extract(epoch from acknowledged_at - detection_timestamp)), 1)
         from acknowledged) as mean_time_to_acknowledge_seconds,
      (select round(avg(extract(epoch from resolved_at - detection_timestamp)), 1)
         from monitoring_events where status = 'RESOLVED' and resolved_at >= ${since})
        as mean_time_to_resolve_seconds`;
  return row;
}

async function exchangeStats(sql: Tx, since: Date) {
  const [row] = await sql<z.infer<typeof exchangeStatsSchema>[]>`
    select count(*)::int as requests,
      count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'failed')::int as failed,
      count(*) filter (where status = 'fallback')::int as fallback,
      round(100.0 * count(*) filter (where status = 'completed')
        / nullif(count(*) filter (where status in ('completed', 'failed', 'fallback')), 0), 2)
        as success_rate_percent,
      round(100.0 * count(*) filter (where status = 'fallback') / nullif(count(*), 0), 2)
        as fallback_rate_percent
    from auto_exchange_requests where created_at >= ${since}`;
  return row;
}

async function tradesStats(sql: Tx, since: Date) {
  const [row] = await sql<z.infer<typeof tradesStatsSchema>[]>`
    select o.orders, o.filled,
      round(100.0 * o.filled / nullif(o.orders, 0), 2) as fill_rate_percent,
      o.average_risk_score, o.max_risk_score, o.volume_usd, f.fills, f.failed_fills
    from (
      select count(*)::int as orders, count(*) filter (where status = 'filled')::int as filled,
        round(avg(risk_score), 1) as average_risk_score, max(risk_score) as max_risk_score,
        coalesce(sum(value_usd) filter (where status = 'filled'), 0) as volume_usd
      from trades_orders where created_at >= ${since}
    ) o, (
      select count(*)::int as fills, count(*) filter (where status = 'failed')::int as failed_fills
      from trades_fills where created_at >= ${since}
    ) f`;
  return row;
}

async function festivalStats(sql: Tx, since: Date) {
  const [row] = await sql<z.infer<typeof festivalStatsSchema>[]>`
    select count(*)::int as transactions,
      count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'failed')::int as failed,
      round(100.0 * count(*) filter (where status = 'completed')
        / nullif(count(*) filter (where status in ('completed', 'failed')), 0), 2)
        as success_rate_percent,
      coalesce(sum(amount_involved) filter (where status = 'completed'), 0) as volume
    from app_transaction_log where "timestamp" >= ${since}`;
  return row;
}

const PACK_STATS = [
  { pack: "exchange", tables: ["auto_exchange_requests"], read: exchangeStats },
  { pack: "trades", tables: ["trades_orders", "trades_fills"], read: tradesStats },
  { pack: "festival", tables: ["app_transaction_log"], read: festivalStats },
] as const;

/**
 * The runbooks' dashboard figures over a window, all computed in SQL: events by
 * severity and type, open critical events, false-positive rate per detector, mean
 * time to acknowledge and to resolve, and per pack (when its tables exist) the
 * exchange success and fallback rates, the trades overview and the festival
 * transaction success rate and volume.
 */
export async function computeStats(
  sql: Tx,
  query: z.infer<typeof statsQuerySchema>,
): Promise<Stats> {
  const [{ since }] = await sql<{ since: Date }[]>`
    select now() - ${WINDOWS[query.window]}::interval as since`;
  const stats: Stats = {
    window: query.window,
    since: since.toISOString(),
    events: await eventStats(sql, since),
  };
  for (const { pack, tables, read } of PACK_STATS) {
    if ((await missingTables(sql, tables)).length > 0) continue;
    Object.assign(stats, { [pack]: await read(sql, since) });
  }
  return stats;
}
