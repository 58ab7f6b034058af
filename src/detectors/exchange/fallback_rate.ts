import { z } from "zod";
import { defineDetector } from "../types.ts";
import type { Severity } from "../types.ts";
import { timeZoneField } from "../time_zone.ts";

interface FallbackShare {
  scope: "hour" | "day";
  fallback: number;
  finished: number;
  rate: number | null;
}

/**
 * Exchanges that fell back to the slower conversion path, as a share of finished
 * requests (completed, failed or fallback) by `created_at`, over two horizons:
 * the rolling hour (CRITICAL above `hour_threshold_percent`) and today so far in
 * `time_zone` (HIGH above `day_threshold_percent`). Each needs `min_samples`
 * finished requests. One subject, the exchange: its severity is that of the worst
 * horizon breaching now, and it resolves once neither breaches.
 */
export const fallbackRate = defineDetector({
  id: "fallback_rate",
  pack: "exchange",
  eventType: "fallback_rate_spike",
  severity: "CRITICAL",
  kind: "state",
  tier: "medium",
  description: "Fallback above 20 % of requests in a rolling hour (HIGH above 10 % for the day)",
  config: z.object({
    hour_threshold_percent: z.number().min(0).max(100).default(20),
    day_threshold_percent: z.number().min(0).max(100).default(10),
    min_samples: z.number().int().min(1).default(20),
    time_zone: timeZoneField(),
  }),
  async run(ctx) {
    const { hour_threshold_percent, day_threshold_percent, min_samples, time_zone } = ctx.config;
    const hourAgo = new Date(ctx.now.getTime() - 3_600_000);
    const shares = await ctx.sql<FallbackShare[]>`
      with bounds as (
        select (date_trunc('day', ${ctx.now}::timestamptz at time zone ${time_zone})
          at time zone ${time_zone}) as day_start
      ),
      finished as (
        select r.created_at, r.status = 'fallback' as fell_back
        from auto_exchange_requests r
        where r.created_at > least((select day_start from bounds), ${hourAgo}::timestamptz)
          and r.created_at <= ${ctx.now}::timestamptz
          and r.status in ('completed', 'failed', 'fallback')
      ),
      scopes as (
        select 'hour' as scope, fell_back from finished where created_at > ${hourAgo}::timestamptz
        union all
        select 'day', fell_back from finished where created_at >= (select day_start from bounds)
      )
      select s.scope, count(*) filter (where fell_back)::int as fallback,
        count(fell_back)::int as finished,
        round(count(*) filter (where fell_back) * 100.0 / nullif(count(fell_back), 0), 2)::float8
          as rate
      from (values ('hour'), ('day')) as s(scope) left join scopes using (scope)
      group by s.scope`;
    const hour = shares.find((share) => share.scope === "hour")!;
    const day = shares.find((share) => share.scope === "day")!;
    const breaches = (share: FallbackShare, threshold: number) =>
      share.finished >= min_samples && (share.rate ?? 0) > threshold;
    const severity: Severity | null = breaches(hour, hour_threshold_percent)
      ? "CRITICAL"
      : breaches(day, day_threshold_percent)
      ? "HIGH"
      : null;
    const worst = severity === "CRITICAL" ? hour : day;
    return {
      rowsExamined: Math.max(hour.finished, day.finished),
      clearedNote: "Fallback rate back under its thresholds: resolved automatically",
      findings: severity
        ? [{
          fingerprint: "exchange",
          title: `Fallback rate ${worst.rate}% ${
            severity === "CRITICAL" ? "in the last hour" : "today"
          } (${worst.fallback}/${worst.finished} requests, threshold ${
            severity === "CRITICAL" ? hour_threshold_percent : day_threshold_percent
          }%)`,
          severity,
          entityType: "pack",
          entityId: "exchange",
          context: {
            hour,
            day,
            hour_threshold_percent,
            day_threshold_percent,
            min_samples,
            time_zone,
          },
        }]
        : [],
    };
  },
});
