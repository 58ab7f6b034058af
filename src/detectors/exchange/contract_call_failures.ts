import { z } from "zod";
import { defineDetector } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext, windowFields } from "../window.ts";
import { rateBySubject } from "../rate_window.ts";

/**
 * Failing smart-contract calls: audit rows with `action = 'contract_call'` and
 * `status = 'error'` as a share of all contract calls in the window, by the audit
 * row's `"timestamp"` (when the call happened). One subject, the exchange contract,
 * resolved when the share drops back under the threshold.
 */
export const contractCallFailures = defineDetector({
  id: "contract_call_failures",
  pack: "exchange",
  eventType: "contract_failure",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "Failed contract calls above 10 % of contract calls in the last hour",
  config: z.object({
    threshold_percent: z.number().min(0).max(100).default(10),
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
        select 'contract' as subject, ${bucketOf(ctx.sql, "timestamp", window)} as bucket,
          status = 'error' as hit
        from exchange_audit_log
        where ${inWindow(ctx.sql, "timestamp", window)} and action = 'contract_call'`,
    });
    const errors = rate?.breach
      ? await ctx.sql<{ error: string; calls: number }[]>`
          select coalesce(details->>'error', '(no message)') as error, count(*)::int as calls
          from exchange_audit_log
          where ${inWindow(ctx.sql, "timestamp", window)}
            and action = 'contract_call' and status = 'error'
          group by 1 order by calls desc, error limit 5`
      : [];
    return {
      rowsExamined: rate?.samples ?? 0,
      clearedNote: "Contract call failures back under their threshold: resolved automatically",
      findings: rate?.breach
        ? [{
          fingerprint: "contract",
          title:
            `${rate.rate}% of contract calls failed in the last ${ctx.config.window_minutes} ` +
            `min (${rate.hits}/${rate.samples}, threshold ${threshold_percent}%)`,
          entityType: "contract",
          entityId: "exchange",
          context: {
            failure_rate: rate.rate,
            failed: rate.hits,
            calls: rate.samples,
            top_errors: errors,
            by_bucket: rate.by_bucket,
            threshold_percent,
            ...windowContext(window),
          },
        }]
        : [],
    };
  },
});
