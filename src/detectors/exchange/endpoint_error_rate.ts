import { z } from "zod";
import { defineDetector } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext, windowFields } from "../window.ts";
import { rateBySubject } from "../rate_window.ts";

/**
 * Server errors per API endpoint: responses with `status_code >= error_status_min`
 * as a share of the endpoint's requests in the window. One event per endpoint, all
 * methods together, resolved by the detector once the endpoint's rate
 * drops back. With `buckets > 1` the rate must breach in every sub-bucket.
 */
export const endpointErrorRate = defineDetector({
  id: "endpoint_error_rate",
  pack: "exchange",
  eventType: "high_error_rate",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "Errors above 5 % of an endpoint's requests in the last hour (min 20 requests)",
  config: z.object({
    threshold_percent: z.number().min(0).max(100).default(5),
    error_status_min: z.number().int().min(100).max(599).default(500),
    ...windowFields({ window_minutes: 60, buckets: 1, min_samples: 20 }),
  }),
  async run(ctx) {
    const { threshold_percent, error_status_min } = ctx.config;
    const window = windowAt(ctx.now, ctx.config);
    const rates = await rateBySubject(ctx.sql, {
      window,
      thresholdPercent: threshold_percent,
      direction: "above",
      samples: ctx.sql`
        select endpoint as subject,
          ${bucketOf(ctx.sql, "created_at", window)} as bucket,
          status_code >= ${error_status_min} as hit
        from api_metrics
        where ${inWindow(ctx.sql, "created_at", window)} and endpoint is not null`,
    });
    return {
      rowsExamined: rates.reduce((sum, rate) => sum + rate.samples, 0),
      clearedNote: "Endpoint error rate back under its threshold: resolved automatically",
      findings: rates.filter((rate) => rate.breach).map((rate) => ({
        fingerprint: `endpoint:${rate.subject}`,
        title: `${rate.subject}: ${rate.rate}% errors over the last ${ctx.config.window_minutes} ` +
          `min (${rate.hits}/${rate.samples}, threshold ${threshold_percent}%)`,
        entityType: "endpoint",
        entityId: rate.subject,
        context: {
          endpoint: rate.subject,
          error_rate: rate.rate,
          errors: rate.hits,
          requests: rate.samples,
          by_bucket: rate.by_bucket,
          threshold_percent,
          error_status_min,
          ...windowContext(window),
        },
      })),
    };
  },
});
