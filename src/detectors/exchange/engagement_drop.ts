import { z } from "zod";
import { defineDetector } from "../types.ts";
import { dayParts } from "../day_parts.ts";
import { timeZoneField } from "../time_zone.ts";
import { evaluatePerSlot } from "../slot_cache.ts";

interface Engagement {
  today_exchangers: number;
  baseline_average: number;
  percent_of_average: number | null;
  elapsed_minutes: number;
  drop: boolean;
  by_day: { day_offset: number; day_from: string; exchangers: number }[];
}

/**
 * Fewer people exchanging than usual: distinct `user_id`s with an exchange request
 * today so far, against the average of the same part of each of the previous
 * `baseline_days` days (midnight to the same time of day, in `time_zone`). Comparing
 * whole previous days with a morning would flag every morning, so like is compared
 * with like. Silent before `min_elapsed_minutes` of the day have passed and when the
 * baseline averages fewer than `min_baseline_users` (too few people for a share to
 * mean anything). Evaluated once per `slot_minutes` slot, as of the slot's start
 * (see `evaluatePerSlot`): the scan of a week of requests then runs in one medium
 * cycle in five. Resolves itself when activity catches up.
 */
export const engagementDrop = defineDetector({
  id: "engagement_drop",
  pack: "exchange",
  eventType: "engagement_drop",
  severity: "MEDIUM",
  kind: "state",
  tier: "medium",
  description: "Today's distinct exchangers below 50 % of the 7-day average (same part of the day)",
  config: z.object({
    threshold_percent: z.number().min(0).max(100).default(50),
    baseline_days: z.number().int().min(1).max(60).default(7),
    min_baseline_users: z.number().min(1).default(20),
    min_elapsed_minutes: z.number().min(0).max(1440).default(60),
    time_zone: timeZoneField(),
    slot_minutes: z.number().min(0).max(60).default(10),
  }),
  async run(ctx) {
    const { threshold_percent, baseline_days, min_baseline_users, min_elapsed_minutes, time_zone } =
      ctx.config;
    const sql = ctx.sql;
    const result = await evaluatePerSlot(ctx, ctx.config.slot_minutes, async (at) => {
      const [engagement] = await sql<Engagement[]>`
        with parts as (${dayParts(sql, at, time_zone, baseline_days)}),
        days as (
          select p.day_offset, p.day_from, a.exchangers
          from parts p cross join lateral (
            select count(distinct user_id)::int as exchangers
            from auto_exchange_requests
            where created_at >= p.day_from and created_at < p.day_to
          ) a
        ),
        compared as (
          select t.exchangers as today, t.day_from,
            (select sum(exchangers) from days where day_offset > 0)::numeric / ${baseline_days}
              as average
          from days t where t.day_offset = 0
        )
        select today as today_exchangers, round(average, 2)::float8 as baseline_average,
          round(today * 100.0 / nullif(average, 0), 2)::float8 as percent_of_average,
          round(extract(epoch from ${at}::timestamptz - day_from) / 60)::int
            as elapsed_minutes,
          extract(epoch from ${at}::timestamptz - day_from) / 60 >= ${min_elapsed_minutes}
            and average >= ${min_baseline_users}
            and today * 100.0 / nullif(average, 0) < ${threshold_percent} as drop,
          (select jsonb_agg(to_jsonb(d) order by day_offset) from days d) as by_day
        from compared`;
      const { drop, ...evidence } = engagement;
      return {
        rowsExamined: engagement.by_day.reduce((sum, day) => sum + day.exchangers, 0),
        findings: drop
          ? [{
            fingerprint: "exchange",
            title: `${evidence.today_exchangers} people exchanged today so far, ` +
              `${evidence.percent_of_average}% of the ${baseline_days}-day average for this ` +
              `time of day (${evidence.baseline_average})`,
            entityType: "pack",
            entityId: "exchange",
            context: { ...evidence, threshold_percent, min_baseline_users, time_zone },
          }]
          : [],
      };
    });
    return {
      ...result,
      clearedNote: "Exchanger count back within range of the 7-day average: resolved",
    };
  },
});
