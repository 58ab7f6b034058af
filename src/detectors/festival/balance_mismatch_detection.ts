import { z } from "zod";
import { defineDetector } from "../types.ts";
import { readChanges } from "../incremental.ts";
import { changedKeys, inFeedRange } from "../change_feed.ts";
import { liveFingerprints } from "../../events/record_findings.ts";
import {
  advanceCardLedger,
  clearCardLedger,
  lockCardLedger,
  resetCardLedger,
} from "./card_ledger.ts";
import type { LedgerChanges, LedgerPositions, LedgerVerdict } from "./card_ledger.ts";

/** Findings are keyed by card: one live event per card. */
const CARD = "card:";
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
    const judge = {
      tolerance: ctx.config.tolerance,
      liveCards: ctx.sql`
        select substr(fingerprint, ${CARD.length + 1}) as card_id
        from (${liveFingerprints(ctx.sql, balanceMismatchDetection.id)}) live
        where starts_with(fingerprint, ${CARD})`,
    };
    let verdict: LedgerVerdict;
    let watermark = ctx.watermark ?? undefined;
    if (ctx.mode === "incremental") {
      const batch = await readChanges(ctx, SOURCES);
      watermark = { ...batch.watermark };
      const positions = batch.watermark.feeds as unknown as LedgerPositions;
      let changes: LedgerChanges;
      if (batch.firstRun) {
        // The feed starts at the horizon: seed the backfill window's cards from scratch.
        await lockCardLedger(ctx.sql);
        await clearCardLedger(ctx.sql);
        changes = {
          transactions: null,
          cards: ctx.sql`
            select distinct card_id from app_transaction_log
            where "timestamp" >= ${batch.since} and card_id is not null
            union
            select id from table_cards where updated_at >= ${batch.since}`,
        };
      } else {
        if (batch.changes === 0) return { findings: [], rowsExamined: 0, watermark };
        changes = {
          transactions: changedKeys(ctx.sql, batch.feeds.app_transaction_log),
          cards: ctx.sql`
            select row_pk as card_id from monitoring_changes
            where ${inFeedRange(ctx.sql, batch.feeds.table_cards)}`,
        };
      }
      verdict = await advanceCardLedger(ctx.sql, changes, positions, judge);
      if (verdict.deferred > 0) {
        ctx.log.info("balance check deferred for cards with unread changes", {
          deferred: verdict.deferred,
        });
      }
    } else {
      verdict = await resetCardLedger(ctx.sql, balanceMismatchDetection.id, judge);
    }
    const { tolerance } = ctx.config;
    return {
      rowsExamined: verdict.examined,
      watermark,
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
