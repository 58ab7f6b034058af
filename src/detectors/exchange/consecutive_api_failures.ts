import { z } from "zod";
import { defineDetector } from "../types.ts";

/** How far back a streak is counted: enough to tell "down" from "flaky", cheap per endpoint. */
const MAX_STREAK = 50;

interface FailingEndpoint {
  endpoint: string;
  streak: number;
  first_failed_at: Date;
  last_failed_at: Date;
  status_codes: number[];
}

/**
 * An endpoint that is down: its most recent `min_failures` requests (by `created_at`,
 * then id) all answered `status_code >= error_status_min`. Only endpoints with a
 * request in the last `lookback_minutes` are considered, so an endpoint nobody calls
 * any more does not keep an event open forever. The streak is counted back from the
 * latest request to the last success, through the `(endpoint, created_at)` index.
 * One event per endpoint, resolved by the next successful request.
 */
export const consecutiveApiFailures = defineDetector({
  id: "consecutive_api_failures",
  pack: "exchange",
  eventType: "api_unavailable",
  severity: "CRITICAL",
  kind: "state",
  tier: "medium",
  description: "The last 3 or more requests to an endpoint failed (status >= 500)",
  config: z.object({
    min_failures: z.number().int().min(2).default(3),
    error_status_min: z.number().int().min(100).max(599).default(500),
    lookback_minutes: z.number().positive().default(60),
  }),
  async run(ctx) {
    const { min_failures, error_status_min, lookback_minutes } = ctx.config;
    const since = new Date(ctx.now.getTime() - lookback_minutes * 60_000);
    const sql = ctx.sql;
    const rows = await sql<(FailingEndpoint & { examined: number })[]>`
      with active as (
        select distinct endpoint from api_metrics
        where created_at > ${since}::timestamptz and created_at <= ${ctx.now}::timestamptz
          and endpoint is not null
      ),
      latest as (
        select a.endpoint, r.status_code, r.created_at, r.position
        from active a
        cross join lateral (
          select m.status_code, m.created_at,
            row_number() over (order by m.created_at desc, m.id desc) as position
          from api_metrics m
          where m.endpoint = a.endpoint and m.created_at <= ${ctx.now}::timestamptz
          order by m.created_at desc, m.id desc
          limit ${MAX_STREAK}
        ) r
      ),
      streaks as (
        select endpoint,
          coalesce(min(position) filter (where status_code < ${error_status_min}) - 1,
            count(*))::int as streak
        from latest group by endpoint
      )
      select s.endpoint, s.streak,
        min(l.created_at) filter (where l.position <= s.streak) as first_failed_at,
        max(l.created_at) filter (where l.position <= s.streak) as last_failed_at,
        array_agg(l.status_code order by l.position) filter (where l.position <= s.streak)
          as status_codes,
        (select count(*)::int from latest) as examined
      from streaks s join latest l using (endpoint)
      group by s.endpoint, s.streak
      order by s.streak desc, s.endpoint`;
    const failing = rows.filter((row) => row.streak >= min_failures);
    return {
      rowsExamined: rows[0]?.examined ?? 0,
      clearedNote: "Endpoint answered successfully again: resolved automatically",
      findings: failing.map(({ examined: _examined, ...endpoint }) => ({
        fingerprint: `endpoint:${endpoint.endpoint}`,
        title: `${endpoint.endpoint}: last ${
          endpoint.streak >= MAX_STREAK ? `${MAX_STREAK}+` : endpoint.streak
        } requests failed (status ${[...new Set(endpoint.status_codes)].join(", ")})`,
        occurredAt: endpoint.last_failed_at,
        entityType: "endpoint",
        entityId: endpoint.endpoint,
        context: { ...endpoint, min_failures, error_status_min },
      })),
    };
  },
});
