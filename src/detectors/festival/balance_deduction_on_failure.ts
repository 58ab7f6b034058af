import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import { examinedFailures, TRANSACTIONS } from "./sources.ts";

interface Deduction {
  transaction_id: string;
  card_id: string;
  transaction_type: string;
  amount_involved: number;
  previous_balance: number;
  new_balance: number;
  timestamp: Date;
}

/** A failed transaction that still took money off the card. */
export const balanceDeductionOnFailure = defineDetector({
  id: "balance_deduction_on_failure",
  pack: "festival",
  eventType: "transaction_failure",
  severity: "CRITICAL",
  kind: "row",
  tier: "critical",
  description: "A failed transaction whose new_balance is below its previous_balance",
  config: z.object({
    min_deduction: z.number().min(0).default(0),
  }),
  async run(ctx) {
    const batch = await readChanges(ctx, [TRANSACTIONS.table]);
    const watermark = { ...batch.watermark };
    if (!batch.firstRun && batch.changes === 0) return { findings: [], rowsExamined: 0, watermark };
    const { where: scope, count: examined } = examinedFailures(ctx.sql, batch);
    const [result] = await ctx.sql<{ examined: number; bad: Deduction[] }[]>`
      with failed as (select * from app_transaction_log where status = 'failed' and ${scope})
      select ${examined} as examined,
        coalesce((
          select jsonb_agg(jsonb_build_object(
            'transaction_id', transaction_id, 'card_id', card_id,
            'transaction_type', transaction_type, 'amount_involved', amount_involved,
            'previous_balance', previous_balance, 'new_balance', new_balance,
            'timestamp', "timestamp"
          ) order by "timestamp")
          from failed
          where previous_balance - new_balance > ${ctx.config.min_deduction}
        ), '[]'::jsonb) as bad`;
    return {
      rowsExamined: result.examined,
      watermark,
      findings: result.bad.map((row) => {
        const deducted = Number((row.previous_balance - row.new_balance).toFixed(2));
        return {
          fingerprint: `tx:${row.transaction_id}`,
          title: `Failed ${row.transaction_type} deducted ${
            deducted.toFixed(2)
          } from card ${row.card_id}`,
          occurredAt: row.timestamp,
          cardId: row.card_id,
          transactionId: row.transaction_id,
          entityType: "transaction",
          entityId: row.transaction_id,
          context: { ...row, deducted },
        };
      }),
    };
  },
});
