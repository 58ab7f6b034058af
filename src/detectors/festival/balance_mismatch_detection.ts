import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import type { CardBalance } from "./expected_balance.ts";
import {
  advanceCardLedger,
  clearCardLedger,
  lockCardLedger,
  resetCardLedger,
} from "./card_ledger.ts";
import type { LedgerPositions } from "./card_ledger.ts";

const SOURCES = ["app_transaction_log", "table_cards"] as const;

/**
 * A card whose stored amount disagrees with its ledger. Each cycle checks the cards
 * touched since the last one (by a transaction or a card update) against their
 * running expected balances (`monitoring_card_ledger`, kept from the change feed in
 * this detector's transaction, so it commits with the events and the watermark: a
 * cycle costs the new rows, not the cards' histories). The maintenance tier sweeps
 * every card from its whole ledger and resets the running balances, healing what
 * the feed cannot see (deleted transactions). A card found balanced again resolves
 * its open event. See `card_ledger.ts` for why the running balance stays exact.
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
    let balances: CardBalance[];
    let watermark = ctx.watermark ?? undefined;
    if (ctx.mode === "incremental") {
      const batch = await readChanges(ctx, SOURCES);
      watermark = { ...batch.watermark };
      const positions = batch.watermark.feeds as unknown as LedgerPositions;
      let changes: { transactions: string[]; updated: string[]; cards: string[] };
      if (batch.firstRun) {
        // The feed starts at the horizon: seed the backfill window's cards from scratch.
        await lockCardLedger(ctx.sql);
        await clearCardLedger(ctx.sql);
        const touched = await ctx.sql<{ card_id: string }[]>`
          select distinct card_id from app_transaction_log
          where "timestamp" >= ${batch.since} and card_id is not null
          union
          select id from table_cards where updated_at >= ${batch.since}`;
        changes = { transactions: [], updated: [], cards: touched.map((row) => row.card_id) };
      } else {
        changes = {
          transactions: batch.keys.app_transaction_log,
          updated: batch.updated.app_transaction_log,
          cards: batch.keys.table_cards,
        };
      }
      if (changes.transactions.length === 0 && changes.cards.length === 0) {
        return { findings: [], rowsExamined: 0, watermark };
      }
      const touched = await advanceCardLedger(ctx.sql, changes, positions);
      balances = touched.filter((card) => !card.deferred);
      const deferred = touched.length - balances.length;
      if (deferred > 0) {
        ctx.log.info("balance check deferred for cards with unread changes", { deferred });
      }
    } else {
      balances = await resetCardLedger(ctx.sql, balanceMismatchDetection.id);
    }
    const tolerance = ctx.config.tolerance;
    const bad = balances.filter((card) => Math.abs(card.difference) > tolerance);
    return {
      rowsExamined: balances.length,
      watermark,
      cleared: balances.filter((card) => Math.abs(card.difference) <= tolerance)
        .map((card) => `card:${card.card_id}`),
      clearedNote: "Balance reconciled: card amount matches its completed transactions again",
      findings: bad.map(({ card_id, card_amount, expected_balance, difference, transactions }) => ({
        fingerprint: `card:${card_id}`,
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
