import { z } from "zod";
import { defineDetector } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext, windowFields } from "../window.ts";
import { rateBySubject } from "../rate_window.ts";

/**
 * The auto-exchange success rate: completed requests as a share of finished ones
 * (completed, failed or fallback; pending and processing have not decided yet),
 * by `created_at`. The runbook's "below the target for N minutes" is read as held
 * throughout: the default cuts the hour into two half-hour buckets and both must be
 * under `threshold_percent`, each with its share of `min_samples`. One subject (the
 * whole exchange); the event resolves itself once the rate recovers.
 */
export const exchangeSuccessRate = defineDetector({
  id: "exchange_success_rate",
  pack: "exchange",
  eventType: "success_rate_drop",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "Completed / finished exchange requests below 95 % over the last hour",
  config: z.object({
    threshold_percent: z.number().min(0).max(100).default(95),
    ...windowFields({ window_minutes: 60, buckets: 2, min_samples: 20 }),
  }),
  async run(ctx) {
    const window = windowAt(ctx.now, ctx.config);
    const [rate] = await rateBySubject(ctx.sql, {
      window,
      thresholdPercent: ctx.config.threshold_percent,
      direction: "below",
      samples: ctx.sql`
        select 'exchange' as subject, ${bucketOf(ctx.sql, "created_at", window)} as bucket,
          status = 'completed' as hit
        from auto_exchange_requests
        where ${inWindow(ctx.sql, "created_at", window)}
          and status in ('completed', 'failed', 'fallback')`,
    });
    return {
      rowsExamined: rate?.samples ?? 0,
      clearedNote: "Exchange success rate back above its threshold: resolved automatically",
      findings: rate?.breach
        ? [{
          fingerprint: "exchange",
          title: `Exchange success rate ${rate.rate}% over the last ${ctx.config.window_minutes} ` +
            `min (${rate.hits}/${rate.samples} completed, target ${ctx.config.threshold_percent}%)`,
          entityType: "pack",
          entityId: "exchange",
          context: {
            success_rate: rate.rate,
            completed: rate.hits,
            finished: rate.samples,
            by_bucket: rate.by_bucket,
            threshold_percent: ctx.config.threshold_percent,
            ...windowContext(window),
          },
        }]
        : [],
    };
  },
});
