import { z } from "zod";
import { defineDetector } from "../types.ts";
import type { Severity } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext, windowFields } from "../window.ts";

interface EndpointLatency {
  endpoint: string;
  samples: number;
  /** The lowest sub-bucket p95: the latency that held throughout the window. */
  sustained_p95: number;
  window_p95: number;
  full_buckets: number;
  by_bucket: { bucket: number; samples: number; p95: number }[];
  breach: boolean;
}

/**
 * Slow API endpoints: the p95 of `response_time_ms`, computed in Postgres with
 * `percentile_cont`, per endpoint and per sub-bucket. "p95 above N ms for 15
 * minutes" is read as held throughout: the 15-minute window is cut into three
 * 5-minute buckets and the p95 of every one of them must exceed the threshold, each
 * bucket with its share of `min_samples`. Severity follows the lowest bucket p95 (the
 * level that held the whole time): HIGH above `threshold_ms`, CRITICAL above
 * `critical_ms`. One event per endpoint, resolved when its latency recovers.
 */
export const apiLatency = defineDetector({
  id: "api_latency",
  pack: "exchange",
  eventType: "response_time_degradation",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "p95 response time above 2000 ms for 15 minutes per endpoint (CRITICAL > 3000)",
  config: z.object({
    threshold_ms: z.number().positive().default(2000),
    critical_ms: z.number().positive().default(3000),
    percentile: z.number().gt(0).lt(1).default(0.95),
    ...windowFields({ window_minutes: 15, buckets: 3, min_samples: 20 }),
  }),
  async run(ctx) {
    const { threshold_ms, critical_ms, percentile } = ctx.config;
    const window = windowAt(ctx.now, ctx.config);
    const sql = ctx.sql;
    const endpoints = await sql<EndpointLatency[]>`
      with samples as (
        select endpoint, ${bucketOf(sql, "created_at", window)} as bucket, response_time_ms
        from api_metrics
        where ${inWindow(sql, "created_at", window)}
          and endpoint is not null and response_time_ms is not null
      ),
      per_bucket as (
        select endpoint, bucket, count(*)::int as samples,
          percentile_cont(${percentile}) within group (order by response_time_ms) as p95
        from samples group by endpoint, bucket
      ),
      per_endpoint as (
        select endpoint,
          percentile_cont(${percentile}) within group (order by response_time_ms) as window_p95
        from samples group by endpoint
      )
      select b.endpoint, sum(b.samples)::int as samples,
        min(b.p95) filter (where b.samples >= ${window.perBucket}) as sustained_p95,
        round(e.window_p95::numeric, 1)::float8 as window_p95,
        count(*) filter (where b.samples >= ${window.perBucket})::int as full_buckets,
        jsonb_agg(jsonb_build_object('bucket', b.bucket, 'samples', b.samples,
          'p95', round(b.p95::numeric, 1)) order by b.bucket) as by_bucket,
        sum(b.samples) >= ${window.minSamples}
          and count(*) filter (where b.samples >= ${window.perBucket}) = ${window.buckets}
          and min(b.p95) filter (where b.samples >= ${window.perBucket}) > ${threshold_ms}
          as breach
      from per_bucket b join per_endpoint e using (endpoint)
      group by b.endpoint, e.window_p95
      order by sustained_p95 desc nulls last`;
    return {
      rowsExamined: endpoints.reduce((sum, endpoint) => sum + endpoint.samples, 0),
      clearedNote: "Endpoint p95 latency back under its threshold: resolved automatically",
      findings: endpoints.filter((row) => row.breach).map(({ breach: _breach, ...endpoint }) => {
        const severity: Severity = endpoint.sustained_p95 > critical_ms ? "CRITICAL" : "HIGH";
        return {
          fingerprint: `endpoint:${endpoint.endpoint}`,
          title: `${endpoint.endpoint}: p${Math.round(percentile * 100)} above ${
            Math.round(endpoint.sustained_p95)
          } ms for ${ctx.config.window_minutes} min (threshold ${
            severity === "CRITICAL" ? critical_ms : threshold_ms
          } ms)`,
          severity,
          entityType: "endpoint",
          entityId: endpoint.endpoint,
          context: {
            ...endpoint,
            sustained_p95: Math.round(endpoint.sustained_p95 * 10) / 10,
            threshold_ms,
            critical_ms,
            percentile,
            ...windowContext(window),
          },
        };
      }),
    };
  },
});
