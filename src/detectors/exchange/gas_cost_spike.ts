import { z } from "zod";
import { defineDetector } from "../types.ts";
import { dayParts } from "../day_parts.ts";
import { timeZoneField } from "../time_zone.ts";
import { evaluatePerSlot } from "../slot_cache.ts";

interface GasComparison {
  today_gas_cost: number;
  today_calls: number;
  baseline_average: number;
  ratio: number | null;
  baseline_days_with_data: number;
  spike: boolean;
  by_day: { day_offset: number; day_from: string; calls: number; gas_cost: number }[];
}

/**
 * Spending on gas out of line with the last week: the sum of `details.gas_cost` over
 * today's audit rows so far is above `multiplier` times the average of the same part
 * of each of the previous `baseline_days` days (midnight to the same time of day, in
 * `time_zone`), so a morning is compared with mornings. Needs `min_samples` priced
 * rows today and `min_baseline_days` previous days with priced rows (days without any
 * still count as zero in the average). Rows whose gas_cost is not a JSON number are
 * ignored. Evaluated once per `slot_minutes` slot, as of the slot's start (see
 * `evaluatePerSlot`), so a week of audit rows is scanned in one medium cycle in five.
 * One subject; the event resolves when today's cost falls back under the
 * line (at the latest when a new day starts).
 */
export const gasCostSpike = defineDetector({
  id: "gas_cost_spike",
  pack: "exchange",
  eventType: "gas_cost_spike",
  severity: "MEDIUM",
  kind: "state",
  tier: "medium",
  description: "Today's gas cost above 2x the 7-day daily average (same part of the day)",
  config: z.object({
    multiplier: z.number().positive().default(2),
    baseline_days: z.number().int().min(1).max(60).default(7),
    min_baseline_days: z.number().int().min(1).default(3),
    min_samples: z.number().int().min(1).default(20),
    time_zone: timeZoneField(),
    slot_minutes: z.number().min(0).max(60).default(10),
  }),
  async run(ctx) {
    const { multiplier, baseline_days, min_baseline_days, min_samples, time_zone } = ctx.config;
    const sql = ctx.sql;
    const result = await evaluatePerSlot(ctx, ctx.config.slot_minutes, async (at) => {
      // Sums and the comparison stay in numeric: 2 x 0.2 must not become 0.39999999999999997.
      const [gas] = await sql<GasComparison[]>`
        with parts as (${dayParts(sql, at, time_zone, baseline_days)}),
        days as (
          select p.day_offset, p.day_from, g.calls, g.gas_cost
          from parts p cross join lateral (
            select count(*)::int as calls,
              coalesce(sum((details->'gas_cost')::numeric), 0) as gas_cost
            from exchange_audit_log
            where "timestamp" >= p.day_from and "timestamp" < p.day_to
              and jsonb_typeof(details->'gas_cost') = 'number'
          ) g
        ),
        compared as (
          select t.gas_cost as today, t.calls as today_calls,
            (select sum(gas_cost) from days where day_offset > 0) / ${baseline_days} as average,
            (select count(*) from days where day_offset > 0 and calls > 0)::int as with_data
          from days t where t.day_offset = 0
        )
        select today::float8 as today_gas_cost, today_calls,
          round(average, 9)::float8 as baseline_average,
          round(today / nullif(average, 0), 2)::float8 as ratio,
          with_data as baseline_days_with_data,
          today_calls >= ${min_samples} and with_data >= ${min_baseline_days}
            and today > ${multiplier}::numeric * average as spike,
          (select jsonb_agg(jsonb_build_object('day_offset', day_offset, 'day_from', day_from,
            'calls', calls, 'gas_cost', gas_cost) order by day_offset) from days) as by_day
        from compared`;
      const { spike, ...evidence } = gas;
      return {
        rowsExamined: gas.by_day.reduce((sum, day) => sum + day.calls, 0),
        findings: spike
          ? [{
            fingerprint: "gas",
            title: `Gas cost today ${gas.today_gas_cost} is ${gas.ratio ?? "infinitely"}x the ` +
              `${baseline_days}-day average for this time of day (${gas.baseline_average}, ` +
              `threshold ${multiplier}x)`,
            entityType: "pack",
            entityId: "exchange",
            context: { ...evidence, multiplier, min_samples, time_zone },
          }]
          : [],
      };
    });
    return {
      ...result,
      clearedNote: "Today's gas cost back under its multiple of the 7-day average: resolved",
    };
  },
});
