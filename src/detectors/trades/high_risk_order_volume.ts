import { z } from "zod";
import { defineDetector } from "../types.ts";
import { bucketOf, inWindow, windowAt, windowContext } from "../window.ts";

interface RiskyVolume {
  orders: number;
  makers: number;
  max_risk: number | null;
  value_usd: number;
  by_bucket: { bucket: number; orders: number }[];
  breaching_buckets: number;
}

/**
 * A burst of risky orders: more than `max_orders` orders with `risk_score >
 * risk_threshold` created in the window. With `buckets > 1` the window is cut into
 * sub-buckets and each must hold more than its share of `max_orders` (the burst was
 * sustained). One subject, the trades pack; resolves when the volume falls back.
 */
export const highRiskOrderVolume = defineDetector({
  id: "high_risk_order_volume",
  pack: "trades",
  eventType: "high_risk_activity",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "More than 10 orders with risk_score above 70 in the last hour",
  config: z.object({
    risk_threshold: z.number().int().min(0).max(100).default(70),
    max_orders: z.number().int().min(0).default(10),
    window_minutes: z.number().positive().max(7 * 24 * 60).default(60),
    buckets: z.number().int().min(1).max(60).default(1),
  }),
  async run(ctx) {
    const { risk_threshold, max_orders } = ctx.config;
    // A count needs no minimum sample: the threshold itself is the minimum.
    const window = windowAt(ctx.now, { ...ctx.config, min_samples: max_orders + 1 });
    const perBucket = max_orders / window.buckets;
    const [volume] = await ctx.sql<RiskyVolume[]>`
      with risky as (
        select ${bucketOf(ctx.sql, "created_at", window)} as bucket, maker_address, risk_score,
          value_usd
        from trades_orders
        where ${inWindow(ctx.sql, "created_at", window)} and risk_score > ${risk_threshold}
      ),
      per_bucket as (select bucket, count(*)::int as orders from risky group by bucket)
      select (select count(*)::int from risky) as orders,
        (select count(distinct maker_address)::int from risky) as makers,
        (select max(risk_score) from risky) as max_risk,
        (select coalesce(sum(value_usd), 0)::float8 from risky) as value_usd,
        coalesce((select jsonb_agg(to_jsonb(b) order by bucket) from per_bucket b), '[]')
          as by_bucket,
        (select count(*)::int from per_bucket where orders > ${perBucket}) as breaching_buckets`;
    const breach = volume.orders > max_orders && volume.breaching_buckets === window.buckets;
    return {
      rowsExamined: volume.orders,
      clearedNote: "High-risk order volume back under its threshold: resolved automatically",
      findings: breach
        ? [{
          fingerprint: "trades",
          title: `${volume.orders} orders with risk above ${risk_threshold} in the last ` +
            `${ctx.config.window_minutes} min from ${volume.makers} makers (max ${max_orders})`,
          entityType: "pack",
          entityId: "trades",
          context: { ...volume, risk_threshold, max_orders, ...windowContext(window) },
        }]
        : [],
    };
  },
});
