import type { Fragment, Tx } from "../../db/client.ts";

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
 * A transaction change whose captured status is failed: the failure detectors
 * probe only these keys (and any captured without values).
 */
export function capturedFailure(sql: Tx): Fragment {
  return sql`new_values ->> 'status' = 'failed'`;
}
