import type { Sql } from "../../src/db/client.ts";

/** A transaction row for `app_transaction_log`; omitted fields get sensible values. */
export interface TxInput {
  card: string;
  type?: "stripe_recharge" | "checkpoint_recharge" | "bar_order" | "manual_correction";
  status?: "completed" | "failed" | "pending";
  amount?: number;
  previous?: number;
  next?: number;
  at?: Date;
  id?: string;
}

/** Inserts transactions in one statement and returns their ids. */
export async function insertTransactions(sql: Sql, rows: TxInput[]): Promise<string[]> {
  const values = rows.map((row) => {
    const amount = row.amount ?? 10;
    const previous = row.previous ?? 0;
    const next = row.next ?? previous + (row.type === "bar_order" ? -amount : amount);
    return {
      transaction_id: row.id ?? crypto.randomUUID(),
      card_id: row.card,
      transaction_type: row.type ?? "stripe_recharge",
      status: row.status ?? "completed",
      amount_involved: amount,
      previous_balance: previous,
      new_balance: next,
      timestamp: row.at ?? new Date(),
    };
  });
  await sql`insert into app_transaction_log ${
    sql(
      values,
      "transaction_id",
      "card_id",
      "transaction_type",
      "status",
      "amount_involved",
      "previous_balance",
      "new_balance",
      "timestamp",
    )
  }`;
  return values.map((value) => value.transaction_id);
}

/** Creates or sets cards' stored amounts. */
export async function setCards(sql: Sql, cards: Record<string, number>): Promise<void> {
  for (const [id, amount] of Object.entries(cards)) {
    await sql`
      insert into table_cards (id, amount, updated_at) values (${id}, ${amount}, now())
      on conflict (id) do update set amount = excluded.amount, updated_at = now()`;
  }
}

/** Inserts NFC scans and returns their ids. */
export async function insertScans(
  sql: Sql,
  rows: { card: string; at: Date; reader?: string }[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) {
    const [{ scan_id }] = await sql<{ scan_id: string }[]>`
      insert into nfc_scan_log (card_id_scanned, reader_id, scan_timestamp)
      values (${row.card}, ${row.reader ?? "bar-1"}, ${row.at}) returning scan_id`;
    ids.push(scan_id);
  }
  return ids;
}

/** Seconds before now, as a Date. */
export function ago(seconds: number): Date {
  return new Date(Date.now() - seconds * 1000);
}
