import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import { cardBalances } from "./expected_balance.ts";

/**
 * A card whose stored amount disagrees with its ledger. Each cycle checks the cards
 * touched since the last one (by a transaction or a card update); the maintenance
 * tier sweeps every card. A card found balanced again resolves its open event.
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
    let cardIds: string[] | null = null;
    let watermark = ctx.watermark ?? undefined;
    if (ctx.mode === "incremental") {
      const batch = await readChanges(ctx, ["app_transaction_log", "table_cards"]);
      watermark = { ...batch.watermark };
      const touched = batch.firstRun
        ? await ctx.sql<{ card_id: string }[]>`
            select distinct card_id from app_transaction_log
            where "timestamp" >= ${batch.since} and card_id is not null
            union
            select id from table_cards where updated_at >= ${batch.since}`
        : await ctx.sql<{ card_id: string }[]>`
            select distinct card_id from app_transaction_log
            where transaction_id = any(${batch.keys.app_transaction_log}::uuid[])
              and card_id is not null
            union
            select unnest(${batch.keys.table_cards}::text[])`;
      cardIds = touched.map((row) => row.card_id);
      if (cardIds.length === 0) return { findings: [], rowsExamined: 0, watermark };
    }
    const balances = await cardBalances(ctx.sql, cardIds);
    const tolerance = ctx.config.tolerance;
    const bad = balances.filter((card) => Math.abs(card.difference) > tolerance);
    return {
      rowsExamined: balances.length,
      watermark,
      cleared: balances.filter((card) => Math.abs(card.difference) <= tolerance)
        .map((card) => `card:${card.card_id}`),
      clearedNote: "Balance reconciled: card amount matches its completed transactions again",
      findings: bad.map((card) => ({
        fingerprint: `card:${card.card_id}`,
        title: `Card ${card.card_id} holds ${card.card_amount.toFixed(2)} but its ledger says ${
          card.expected_balance.toFixed(2)
        } (${card.difference > 0 ? "+" : ""}${card.difference.toFixed(2)})`,
        cardId: card.card_id,
        entityType: "card",
        entityId: card.card_id,
        context: { ...card, tolerance, mode: ctx.mode },
      })),
    };
  },
});
