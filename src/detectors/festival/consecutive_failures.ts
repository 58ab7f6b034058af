import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import { examinedFailures, TRANSACTIONS } from "./sources.ts";

interface Streak {
  card_id: string;
  failures: number;
  /** ISO timestamps (the streaks arrive as JSON). */
  first_at: string;
  last_at: string;
  transaction_ids: string[];
}

/**
 * A card failing again and again: `min_failures` failed transactions in a row (no
 * other status between them, in timestamp order) within `window_minutes`. Only
 * cards with a newly examined failure are looked at, around that failure's time,
 * so late-synced rows with old timestamps are placed where they belong. One live
 * event per card: a longer or later streak bumps it instead of opening another.
 */
export const consecutiveFailures = defineDetector({
  id: "consecutive_failures",
  pack: "festival",
  eventType: "consecutive_failures",
  severity: "HIGH",
  kind: "row",
  tier: "critical",
  description: "At least 3 failed transactions in a row for one card within 15 minutes",
  config: z.object({
    min_failures: z.number().int().min(2).default(3),
    window_minutes: z.number().positive().default(15),
  }),
  async run(ctx) {
    const { min_failures, window_minutes } = ctx.config;
    const window = `${window_minutes} minutes`;
    const batch = await readChanges(ctx, [TRANSACTIONS.table]);
    const watermark = { ...batch.watermark };
    if (!batch.firstRun && batch.changes === 0) return { findings: [], rowsExamined: 0, watermark };
    const { where: scope, count: examined } = examinedFailures(ctx.sql, batch);
    // Streaks are searched around newly examined failures only.
    const [{ streaks, ...counted }] = await ctx.sql<{ examined: number; streaks: Streak[] }[]>`
      with fresh as (
        select card_id, "timestamp" from app_transaction_log where status = 'failed' and ${scope}
      ),
      span as (
        select card_id, min("timestamp") - ${window}::interval as lo,
          max("timestamp") + ${window}::interval as hi
        from fresh where card_id is not null group by card_id
      ),
      ordered as (
        select t.card_id, t.transaction_id, t."timestamp", t.status,
          -- every non-failure starts a new run; failures in one run share this number
          count(*) filter (where t.status <> 'failed')
            over (partition by t.card_id order by t."timestamp", t.transaction_id) as run
        from span s
        join app_transaction_log t
          on t.card_id = s.card_id and t."timestamp" between s.lo and s.hi
      ),
      windows as (
        select card_id, run, transaction_id, "timestamp",
          lead("timestamp", ${min_failures - 1}) over w as nth_at
        from ordered where status = 'failed'
        window w as (partition by card_id, run order by "timestamp", transaction_id)
      ),
      hits as (
        select distinct card_id, run from windows
        where nth_at is not null and nth_at - "timestamp" <= ${window}::interval
      ),
      streaks as (
        select o.card_id, count(*)::int as failures, min(o."timestamp") as first_at,
          max(o."timestamp") as last_at,
          array_agg(o.transaction_id::text order by o."timestamp") as transaction_ids
        from ordered o join hits h on h.card_id = o.card_id and h.run = o.run
        where o.status = 'failed'
        group by o.card_id, o.run
      )
      select ${examined} as examined,
        coalesce((select jsonb_agg(to_jsonb(s) order by s.last_at) from streaks s), '[]'::jsonb)
          as streaks`;
    return {
      rowsExamined: counted.examined,
      watermark,
      findings: streaks.map((streak) => ({
        fingerprint: `card:${streak.card_id}`,
        title: `Card ${streak.card_id} failed ${streak.failures} transactions in a row`,
        occurredAt: streak.last_at,
        cardId: streak.card_id,
        transactionId: streak.transaction_ids.at(-1) ?? null,
        entityType: "card",
        entityId: streak.card_id,
        context: { ...streak, min_failures, window_minutes },
      })),
    };
  },
});
