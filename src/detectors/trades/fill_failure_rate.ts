import { z } from "zod";
import { defineDetector } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext, windowFields } from "../window.ts";
import { rateBySubject } from "../rate_window.ts";

/**
 * Trades that fail to settle: failed fills as a share of finished fills (completed
 * or failed; pending ones have not decided) created in the window, with at least
 * `min_samples` finished fills. One subject, the trades pack; resolves when the
 * share drops back under the threshold.
 */
export const fillFailureRate = defineDetector({
  id: "fill_failure_rate",
  pack: "trades",
  eventType: "failed_transactions",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "Failed fills above 5 % in the last hour (min 20 fills)",
  config: z.object({
    threshold_percent: z.number().min(0).max(100).default(5),
    ...windowFields({ window_minutes: 60, buckets: 1, min_samples: 20 }),
  }),
  async run(ctx) {
    const { threshold_percent } = ctx.config;
    const window = windowAt(ctx.now, ctx.config);
    const [rate] = await rateBySubject(ctx.sql, {
      window,
      thresholdPercent: threshold_percent,
      direction: "above",
      samples: ctx.sql`
        select 'trades' as subject, ${bucketOf(ctx.sql, "created_at", window)} as bucket,
          status = 'failed' as hit
        from trades_fills
        where ${inWindow(ctx.sql, "created_at", window)} and status in ('completed', 'failed')`,
    });
    return {
      rowsExamined: rate?.samples ?? 0,
      clearedNote: "Fill failure rate back under its threshold: resolved automatically",
      findings: rate?.breach
        ? [{
          fingerprint: "trades",
          title: `${rate.rate}% of fills failed in the last ${ctx.config.window_minutes} min ` +
            `(${rate.hits}/${rate.samples}, threshold ${threshold_percent}%)`,
          entityType: "pack",
          entityId: "trades",
          context: {
            failure_rate: rate.rate,
            failed: rate.hits,
            fills: rate.samples,
            by_bucket: rate.by_bucket,
            threshold_percent,
            ...windowContext(window),
          },
        }]
        : [],
    };
  },
});
