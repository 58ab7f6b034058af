import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import { liveFingerprints } from "../../events/record_findings.ts";
import { checkTouchedCards, judgeCards } from "./balance_deltas.ts";
import type { BalanceVerdict } from "./balance_deltas.ts";

/** Findings are keyed by card: one live event per card. */
const CARD = "card:";
const SOURCES = ["app_transaction_log", "table_cards"] as const;

/**
 * A card whose stored amount disagrees with its ledger. Each cycle checks the cards
 * touched since the last one (by a transaction or a card update): a card's amount
 * must move by exactly what its new transactions add, both read from the change
 * feed, and a card whose deltas disagree, or that has a live event, is recomputed
 * from its whole history (see `balance_deltas.ts`). A cycle costs the new changes,
 * not the cards' histories, and writes nothing per card. The maintenance tier
 * sweeps every card from its whole history, which finds what the feed cannot see
 * (deleted transactions). A card found balanced again resolves its open event.
 */
export const balanceMismatchDetection = defineDetector({
  id: "balance_mismatch_detection",
  pack: "festival",
  eventType: "balance_discrepancy",
  severity: "CRITICAL",
  kind: "row",
  tier: "critical",
  sweepTier: "maintenance",
  description:
    "Card amount differs from the sum of its completed transactions by more than the tolerance",
  config: z.object({
    tolerance: z.number().min(0).default(0.01),
  }),
  async run(ctx) {
    const judge = {
      tolerance: ctx.config.tolerance,
      liveCards: ctx.sql`
        select substr(fingerprint, ${CARD.length + 1}) as card_id
        from (${liveFingerprints(ctx.sql, balanceMismatchDetection.id)}) live
        where starts_with(fingerprint, ${CARD})`,
    };
    let verdict: BalanceVerdict;
    let watermark = ctx.watermark ?? undefined;
    if (ctx.mode === "incremental") {
      const batch = await readChanges(ctx, SOURCES);
      watermark = { ...batch.watermark };
      if (batch.firstRun) {
        // The feed starts at the horizon: the backfill window's cards are judged in full.
        verdict = await judgeCards(
          ctx.sql,
          ctx.sql`
            select card_id from app_transaction_log
            where "timestamp" >= ${batch.since} and card_id is not null
            union
            select id from table_cards where updated_at >= ${batch.since}`,
          judge,
        );
      } else {
        if (batch.changes === 0) return { findings: [], rowsExamined: 0, watermark };
        verdict = await checkTouchedCards(ctx.sql, {
          transactions: batch.feeds.app_transaction_log,
          cards: batch.feeds.table_cards,
        }, judge);
      }
    } else {
      verdict = await judgeCards(ctx.sql, null, judge);
    }
    const { tolerance } = ctx.config;
    return {
      rowsExamined: verdict.examined,
      watermark,
      report: { recomputed: verdict.recomputed },
      cleared: verdict.reconciled.map((cardId) => `${CARD}${cardId}`),
      clearedNote: "Balance reconciled: card amount matches its completed transactions again",
      findings: verdict.mismatched.map((
        { card_id, card_amount, expected_balance, difference, transactions },
      ) => ({
        fingerprint: `${CARD}${card_id}`,
        title: `Card ${card_id} holds ${card_amount.toFixed(2)} but its ledger says ${
          expected_balance.toFixed(2)
        } (${difference > 0 ? "+" : ""}${difference.toFixed(2)})`,
        cardId: card_id,
        entityType: "card",
        entityId: card_id,
        context: {
          card_id,
          card_amount,
          expected_balance,
          difference,
          transactions,
          tolerance,
          mode: ctx.mode,
        },
      })),
    };
  },
});
