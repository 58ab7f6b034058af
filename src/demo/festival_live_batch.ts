import type { Sql } from "../db/client.ts";

/** What {@linkcode appendLiveTraffic} wrote. */
export interface LiveBatch {
  transactions: number;
  scans: number;
  cards: number;
}

/**
 * Appends one moment of live festival traffic, as the platform writes it: `count`
 * cards that were not used in the last minute each make one transaction now (a bar
 * order, scanned by its reader a second before, or a stripe recharge when the card
 * is nearly empty), and the platform updates each card's amount to match. One
 * statement; the ledger stays consistent, so a correct monitor flags nothing.
 */
export async function appendLiveTraffic(sql: Sql, count: number): Promise<LiveBatch> {
  const [batch] = await sql<LiveBatch[]>`
    with picked as (
      select id, amount from table_cards
      where updated_at < now() - interval '1 minute'
      order by random() limit ${count}
    ),
    orders as (
      select id as card_id, amount as previous,
        case when amount >= 5 then 'bar_order' else 'stripe_recharge' end as kind,
        case when amount >= 5
          then least(amount, round((3 + random() * 9) * 2) / 2)::numeric(12, 2)
          else 20::numeric(12, 2) end as amount_involved,
        'bar-' || lpad((1 + floor(random() * 24))::text, 2, '0') as reader
      from picked
    ),
    tx as (
      insert into app_transaction_log (transaction_id, card_id, transaction_type, status,
        amount_involved, previous_balance, new_balance, "timestamp", details)
      select gen_random_uuid(), card_id, kind, 'completed', amount_involved, previous,
        previous + case kind when 'bar_order' then -amount_involved else amount_involved end,
        now(),
        case kind when 'bar_order' then jsonb_build_object('reader_id', reader)
          else jsonb_build_object('channel', 'stripe') end
      from orders
      returning card_id, new_balance, "timestamp", transaction_type, details ->> 'reader_id' as reader
    ),
    scans as (
      insert into nfc_scan_log (scan_id, card_id_scanned, reader_id, scan_timestamp)
      select gen_random_uuid(), card_id, reader, "timestamp" - interval '1 second'
      from tx where transaction_type = 'bar_order'
      returning 1
    ),
    cards as (
      update table_cards c set amount = tx.new_balance, updated_at = tx."timestamp"
      from tx where c.id = tx.card_id
      returning 1
    )
    select (select count(*) from tx)::int as transactions,
      (select count(*) from scans)::int as scans,
      (select count(*) from cards)::int as cards`;
  return batch;
}
