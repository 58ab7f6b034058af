import type { Tx } from "../db/client.ts";

/** How much clean festival traffic to write. */
export interface FestivalLedgerOptions {
  /** Cards numbered 1..cards, named `${cardPrefix}000001`... */
  cards: number;
  /** Transactions to aim for (about 4 per round: one recharge and 2-4 bar orders). */
  transactions: number;
  /** The traffic spans this many hours before `until`. */
  hours: number;
  until: Date;
  cardPrefix?: string;
  /** Share of bar orders declined (failed, balance untouched). */
  failureRate?: number;
}

/** What {@linkcode loadFestivalLedger} wrote. */
export interface FestivalLedgerCounts {
  transactions: number;
  scans: number;
  cards: number;
}

/** The card id of card number `n`, as the generator names it. */
export function festivalCardId(n: number, prefix = "FC-"): string {
  return `${prefix}${String(n).padStart(6, "0")}`;
}

/**
 * Writes a festival's clean cashless traffic in one set-based statement: per card,
 * rounds of one recharge (stripe online or at a checkpoint) followed by 2-4 bar
 * orders that never spend more than the recharge, each order (and each checkpoint
 * recharge) preceded by the NFC scan of its reader, plus a gate scan when the card
 * first shows up. A few bar orders are declined (failed, balance untouched).
 * previous/new balances follow each card's running ledger and `table_cards` holds
 * exactly what the ledger implies, so a correct monitor flags nothing here.
 *
 * Rows go in in timestamp order, cards interleaved, as a live platform writes them.
 * A card's events are minutes apart, so no two scans of one card fall within
 * seconds of each other and no three declines fall within a quarter of an hour.
 */
export async function loadFestivalLedger(
  sql: Tx,
  options: FestivalLedgerOptions,
): Promise<FestivalLedgerCounts> {
  const { cards, hours, until } = options;
  const prefix = options.cardPrefix ?? "FC-";
  const failureRate = options.failureRate ?? 0.012;
  const totalRounds = Math.max(cards, Math.round(options.transactions / 4));
  const roundsPerCard = Math.ceil(totalRounds / cards);
  const roundSeconds = (hours * 3600) / roundsPerCard;
  const start = new Date(until.getTime() - hours * 3_600_000);
  const [counts] = await sql<FestivalLedgerCounts[]>`
    with rounds as (
      select g % ${cards} + 1 as card_no, g / ${cards} as round_no
      from generate_series(0, ${totalRounds - 1}::int) g
    ),
    shaped as (
      select ${prefix} || lpad(card_no::text, 6, '0') as card_id, card_no,
        ${start}::timestamptz
          + (round_no + random() * 0.2) * ${roundSeconds} * interval '1 second' as opened_at,
        (20 + 10 * floor(random() * 9))::numeric(12, 2) as topup,
        2 + floor(random() * 3)::int as orders,
        random() < 0.6 as online
      from rounds
    ),
    events as (
      select card_id, opened_at as at,
        case when online then 'stripe_recharge' else 'checkpoint_recharge' end as kind,
        'completed' as status, topup as amount,
        case when online then null
          else 'checkpoint-' || (1 + card_no % 6) end as reader
      from shaped
      union all
      select s.card_id,
        s.opened_at + i * (${roundSeconds} * 0.8 / (s.orders + 1)) * interval '1 second',
        'bar_order',
        case when random() < ${failureRate} then 'failed' else 'completed' end,
        greatest(0.5, round(s.topup / s.orders * (0.4 + random() * 0.6) * 2) / 2)::numeric(12, 2),
        'bar-' || lpad((1 + floor(random() * 24))::text, 2, '0')
      from shaped s cross join lateral generate_series(1, s.orders) i
    ),
    ledger as (
      select e.*, sum(delta) over (
          partition by card_id order by at rows between unbounded preceding and current row
        ) as balance
      from (
        select *, case when status <> 'completed' then 0
          when kind = 'bar_order' then -amount else amount end as delta
        from events
      ) e
    ),
    tx as (
      insert into app_transaction_log (transaction_id, card_id, transaction_type, status,
        amount_involved, previous_balance, new_balance, "timestamp", details)
      select gen_random_uuid(), card_id, kind, status, amount, balance - delta, balance, at,
        case when reader is null then jsonb_build_object('channel', 'stripe')
          else jsonb_build_object('reader_id', reader) end
      from ledger order by at
      returning 1
    ),
    scans as (
      insert into nfc_scan_log (scan_id, card_id_scanned, reader_id, scan_timestamp)
      select gen_random_uuid(), card_id, reader, at
      from (
        select card_id, reader, at - (0.3 + random() * 1.2) * interval '1 second' as at
        from events where reader is not null
        union all
        select card_id, 'gate-' || (1 + abs(hashtext(card_id)) % 4),
          min(at) - interval '10 minutes'
        from events group by card_id
      ) s
      order by at
      returning 1
    ),
    balances as (
      insert into table_cards (id, amount, updated_at)
      select card_id, sum(delta), max(at) from ledger group by card_id
      returning 1
    )
    select (select count(*) from tx)::int as transactions,
      (select count(*) from scans)::int as scans,
      (select count(*) from balances)::int as cards`;
  return counts;
}
