import { z } from "zod";
import { defineDetector } from "../types.ts";
import { inWindow, windowAt } from "../window.ts";

interface MakerActivity {
  maker_address: string;
  orders: number;
  average_risk: number | null;
  max_risk: number | null;
  value_usd: number;
  first_at: string;
  last_at: string;
  too_many: boolean;
  too_risky: boolean;
}

/**
 * A maker behaving oddly: more than `max_orders` orders in the window, or an average
 * `risk_score` above `max_average_risk` over at least `min_orders_for_risk` orders
 * (one risky order is a risky order, which `high_risk_order_volume` counts; a maker
 * whose orders are risky on average is a pattern). One event per maker address,
 * naming it with its order count and average risk; resolves when the maker calms down.
 */
export const suspiciousMaker = defineDetector({
  id: "suspicious_maker",
  pack: "trades",
  eventType: "suspicious_maker",
  severity: "MEDIUM",
  kind: "state",
  tier: "medium",
  description: "A maker with more than 10 orders in 2 h or an average risk above 80",
  config: z.object({
    max_orders: z.number().int().min(1).default(10),
    max_average_risk: z.number().min(0).max(100).default(80),
    min_orders_for_risk: z.number().int().min(1).default(3),
    window_minutes: z.number().positive().max(7 * 24 * 60).default(120),
  }),
  async run(ctx) {
    const { max_orders, max_average_risk, min_orders_for_risk } = ctx.config;
    const window = windowAt(ctx.now, { ...ctx.config, buckets: 1, min_samples: 1 });
    const [{ examined, flagged }] = await ctx.sql<
      { examined: number; flagged: MakerActivity[] }[]
    >`
      with per_maker as (
        select maker_address, count(*)::int as orders,
          round(avg(risk_score), 1)::float8 as average_risk, max(risk_score) as max_risk,
          coalesce(sum(value_usd), 0)::float8 as value_usd,
          min(created_at) as first_at, max(created_at) as last_at
        from trades_orders
        where ${inWindow(ctx.sql, "created_at", window)} and maker_address is not null
        group by maker_address
      ),
      judged as (
        select *, orders > ${max_orders} as too_many,
          orders >= ${min_orders_for_risk} and average_risk > ${max_average_risk} as too_risky
        from per_maker
      )
      select coalesce(sum(orders), 0)::int as examined,
        coalesce(jsonb_agg(to_jsonb(j) order by orders desc, maker_address)
          filter (where too_many or too_risky), '[]') as flagged
      from judged j`;
    return {
      rowsExamined: examined,
      clearedNote: "Maker's order rate and risk back within limits: resolved automatically",
      findings: flagged.map((maker) => ({
        fingerprint: `maker:${maker.maker_address}`,
        title:
          `Maker ${maker.maker_address}: ${maker.orders} orders in ${ctx.config.window_minutes} ` +
          `min, average risk ${maker.average_risk ?? "n/a"}`,
        occurredAt: maker.last_at,
        entityType: "maker",
        entityId: maker.maker_address,
        context: { ...maker, max_orders, max_average_risk, min_orders_for_risk },
      })),
    };
  },
});
