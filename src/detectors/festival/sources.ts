/** The festival tables the row detectors read, by key and by time (for backfills). */
export const TRANSACTIONS = {
  table: "app_transaction_log",
  key: "transaction_id",
  time: "timestamp",
} as const;

export const SCANS = { table: "nfc_scan_log", key: "scan_id", time: "scan_timestamp" } as const;
