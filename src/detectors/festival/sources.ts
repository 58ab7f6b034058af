import type { Fragment, Tx } from "../../db/client.ts";
import { examinedRows } from "../incremental.ts";
import type { ChangeBatch } from "../incremental.ts";

/**
 * The festival tables the row detectors read: by key, by time (for backfills), and
 * the columns whose values the change feed keeps for each change (installed by the
 * pack's setup), so detectors can judge or skip a change without reading the row.
 */
export const TRANSACTIONS = {
  table: "app_transaction_log",
  key: "transaction_id",
  time: "timestamp",
  captured: [
    "card_id",
    "status",
    "transaction_type",
    "amount_involved",
    "previous_balance",
    "new_balance",
  ],
} as const;

export const SCANS = {
  table: "nfc_scan_log",
  key: "scan_id",
  time: "scan_timestamp",
  captured: ["card_id_scanned", "scan_timestamp"],
} as const;

/**
 * The transactions a failure detector examines: every changed row is counted, but
 * only keys the feed captured as failed (or captured without values) are probed,
 * through the pack's partial index of failed transactions.
 */
export function examinedFailures(
  sql: Tx,
  batch: ChangeBatch,
): { where: Fragment; count: Fragment } {
  return examinedRows(sql, batch, TRANSACTIONS, sql`new_values ->> 'status' = 'failed'`);
}
