import type { PackDefinition } from "../types.ts";
import { balanceDeductionOnFailure } from "./balance_deduction_on_failure.ts";
import { balanceMismatchDetection } from "./balance_mismatch_detection.ts";
import { consecutiveFailures } from "./consecutive_failures.ts";
import { duplicateNfcScans } from "./duplicate_nfc_scans.ts";
import { SCANS, TRANSACTIONS } from "./sources.ts";

/** The festival's cashless cards: ledger, failures and NFC scans. */
export const festivalPack: PackDefinition = {
  id: "festival",
  description: "Festival cashless cards (table_cards, app_transaction_log, nfc_scan_log)",
  tables: ["table_cards", "app_transaction_log", "nfc_scan_log"],
  detectors: [
    balanceDeductionOnFailure,
    balanceMismatchDetection,
    consecutiveFailures,
    duplicateNfcScans,
  ],
  setup: {
    capture: [
      // Each change keeps the values detectors judge it by (sources.ts): the balance
      // check's deltas, the failure detectors' status, the scans' card and time.
      ...[TRANSACTIONS, SCANS].map((source) => ({
        table: source.table,
        keyColumn: source.key,
        columns: source.captured,
      })),
      { table: "table_cards", keyColumn: "id", columns: ["amount"] },
    ],
    indexes: [
      {
        // Covering: the balance check sums a card's whole ledger from the index alone
        // (an index-only scan), instead of visiting one heap page per transaction of
        // cards whose rows are spread over the table by time. See docs/benchmarks.md.
        name: "monitoring_atl_card_ledger_idx",
        table: "app_transaction_log",
        statement: `create index concurrently if not exists monitoring_atl_card_ledger_idx
          on app_transaction_log (card_id, "timestamp")
          include (status, transaction_type, amount_involved, previous_balance, new_balance)`,
      },
      {
        // Failed transactions only (about 1 % of rows). The two failure detectors look
        // up each cycle's new keys here: a key that did not fail costs a probe of this
        // small index instead of the primary key's and a heap page (3 ms instead of 12
        // for 1,000 keys at 5 M rows). A failed row costs the platform one more entry.
        name: "monitoring_atl_failed_idx",
        table: "app_transaction_log",
        statement: `create index concurrently if not exists monitoring_atl_failed_idx
          on app_transaction_log (transaction_id) where status = 'failed'`,
      },
      {
        name: "monitoring_atl_ts_idx",
        table: "app_transaction_log",
        statement: `create index concurrently if not exists monitoring_atl_ts_idx
          on app_transaction_log ("timestamp")`,
      },
      {
        name: "monitoring_nfc_card_ts_idx",
        table: "nfc_scan_log",
        statement: `create index concurrently if not exists monitoring_nfc_card_ts_idx
          on nfc_scan_log (card_id_scanned, scan_timestamp)`,
      },
      {
        name: "monitoring_nfc_ts_idx",
        table: "nfc_scan_log",
        statement: `create index concurrently if not exists monitoring_nfc_ts_idx
          on nfc_scan_log (scan_timestamp)`,
      },
      {
        name: "monitoring_cards_updated_idx",
        table: "table_cards",
        statement: `create index concurrently if not exists monitoring_cards_updated_idx
          on table_cards (updated_at)`,
      },
    ],
  },
};
