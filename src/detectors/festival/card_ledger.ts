import type { Fragment, Tx } from "../../db/client.ts";
import type { FeedPosition } from "../change_feed.ts";
import type { CardBalance } from "./expected_balance.ts";
import { ledgerContribution, ledgerTotals } from "./expected_balance.ts";

/**
 * The running card ledger (`monitoring_card_ledger`): each card's expected balance
 * as of the balance detector's change-feed positions, so a critical cycle costs
 * the rows that changed, not the touched cards' whole histories.
 *
 * The invariant: a ledger row holds exactly the completed transactions of its card
 * whose changes lie at or before the detector's feed positions. Everything below
 * keeps it:
 *
 * - **Seeding.** A card enters the ledger by a full recompute the first time it is
 *   touched. A recompute reads the table as it is now, which may already hold rows
 *   committed past the feed positions (a transaction with a newer id commits while
 *   an older one still holds the horizon back, or the batch limit cut the read
 *   short). Such a card is *ahead* of the feed; seeding it now would count those
 *   rows again when the feed hands them out. So an ahead card is not seeded (and
 *   any ledger row it had is dropped if it needed a recompute): its unread changes
 *   bring it back next cycle, when it is seeded instead. This is also why the
 *   first run's backfill, which overlaps the feed, cannot double-count.
 * - **Inserts** read from the feed add their contribution once: the feed hands out
 *   each change once, and the delta commits with the watermark in one transaction.
 * - **Updates** (pending -> completed, an amount or type fixed, a card_id moved) change
 *   a contribution the ledger already holds, and the feed keeps no old values: a
 *   card with an updated transaction is recomputed in full. Updates are rare; a
 *   row inserted and updated in the same batch counts as updated.
 * - **Judging.** An ahead card is not judged either: its `table_cards` amount or
 *   rows already include changes the ledger has not taken in, and comparing the two
 *   would raise false alarms. Its unread changes make it touched next cycle.
 * - **Not captured:** deleted transactions, and the card a moved transaction left.
 *   The maintenance sweep ({@linkcode resetCardLedger}) recomputes every card and
 *   resets the ledger, healing such drift; the first run empties it, since the
 *   changes between an old watermark and a new start were never read.
 *
 * Cost: a cycle reads its changed rows, their cards' ledger and `table_cards` rows
 * by key, and the feed's unread tail (to find ahead cards) through the feed index.
 * The tail is a handful of changes in steady state; while the feed has a backlog
 * (a read cut by `change_batch_size`) it is the whole backlog, every cycle, until
 * it drains. Cards new to the ledger, or with an updated transaction, cost their
 * whole history once (an index-only scan of the pack's covering index).
 *
 * Every writer takes the table's EXCLUSIVE lock before it reads the ledger
 * ({@linkcode lockCardLedger}): the critical tier's increments and the maintenance
 * sweep may run at once, and each must see the other's committed ledger and
 * watermark whole. The increment may read the feed before the lock: a sweep that
 * commits in between rebuilt the ledger against the same stored positions, so the
 * cards this read touched are either untouched by it or dropped as ahead, and are
 * seeded again.
 */

/** Feed positions of the balance detector, one per source table. */
export interface LedgerPositions {
  app_transaction_log: FeedPosition;
  table_cards: FeedPosition;
}

/** What one read of the feeds touched, as subqueries run inside the ledger's statement. */
export interface LedgerChanges {
  /**
   * The `app_transaction_log` rows read, with columns `row_pk` (text) and `updated`
   * (an update is among the row's changes): `changedKeys` of the feed read. Null
   * on a first run.
   */
  transactions: Fragment | null;
  /** Cards touched otherwise (column `card_id`): the `table_cards` feed read, or a first run's backfill. */
  cards: Fragment;
}

/** How to judge the balances: the tolerance, and which cards have a live event. */
export interface JudgeOptions {
  tolerance: number;
  /** Cards with a live balance event (column `card_id`): balanced again, they are reconciled. */
  liveCards: Fragment;
}

/** The verdict on the cards a ledger statement compared. */
export interface LedgerVerdict {
  /** Cards compared. */
  examined: number;
  /** Touched cards left for the next cycle: their changes are past the feed positions. */
  deferred: number;
  /** Cards whose amount differs from their ledger by more than the tolerance. */
  mismatched: CardBalance[];
  /** Balanced cards that have a live event: it can be resolved. */
  reconciled: string[];
}

/**
 * Serialises every writer of the ledger until the transaction ends. Plain reads
 * (dashboards, tests) are not blocked.
 */
export async function lockCardLedger(sql: Tx): Promise<void> {
  await sql`lock table monitoring_card_ledger in exclusive mode`;
}

/** Empties the ledger: a first run restarts the feed, so every card is seeded anew. */
export async function clearCardLedger(sql: Tx): Promise<void> {
  await sql`delete from monitoring_card_ledger`;
}

/**
 * Cards with changes after `positions`: their current rows are ahead of the ledger.
 * A subquery fragment with one column, card_id.
 */
function aheadCards(sql: Tx, positions: { tx: Fragment; cards: Fragment }): Fragment {
  return sql`
    select card_id from app_transaction_log
    where transaction_id = any(array(
      select row_pk::uuid from monitoring_changes
      where source_table = 'app_transaction_log' and (txid, change_id) > ${positions.tx}))
    union
    select row_pk from monitoring_changes
    where source_table = 'table_cards' and (txid, change_id) > ${positions.cards}`;
}

/** A feed position as a SQL row value (xid8, bigint). */
function positionRow(sql: Tx, position: FeedPosition): Fragment {
  return sql`(${position.xid}::xid8, ${position.id}::bigint)`;
}

/**
 * The verdict on the cards of `from`, a FROM clause that names each card's
 * `table_cards` row `c` and its ledger `b` (columns expected_balance and
 * transactions; missing for a card without completed transactions). It may read
 * the statement's CTEs. Only the mismatches and the reconciled cards leave
 * Postgres, not every card.
 */
function verdict(sql: Tx, from: Fragment, judge: JudgeOptions): Fragment {
  return sql`
    select count(*)::int as examined,
      coalesce(
        jsonb_agg(to_jsonb(j) order by j.card_id) filter (where abs(j.difference) > ${judge.tolerance}),
        '[]'::jsonb) as mismatched,
      coalesce(
        array_agg(j.card_id order by j.card_id) filter (
          where abs(j.difference) <= ${judge.tolerance}
            -- An array, read once: as a subquery here it would be run once per card.
            and j.card_id = any(array(select card_id from (${judge.liveCards}) live))),
        '{}') as reconciled
    from (
      select c.id as card_id, c.amount as card_amount,
        coalesce(b.expected_balance, 0) as expected_balance,
        c.amount - coalesce(b.expected_balance, 0) as difference,
        coalesce(b.transactions, 0) as transactions
      ${from}
    ) j`;
}

/**
 * Brings the ledger up to `positions` for the cards one feed read touched, and
 * judges them. Takes the ledger lock, then one statement: inserted transactions add
 * their deltas, cards new to the ledger or with an updated transaction are
 * recomputed, ahead cards are deferred (see the module notes).
 *
 * @param changes what the read touched (see {@linkcode LedgerChanges})
 * @param positions the feed positions the read reached (the new watermark)
 * @returns the verdict on every touched card that has a `table_cards` row
 */
export async function advanceCardLedger(
  sql: Tx,
  changes: LedgerChanges,
  positions: LedgerPositions,
  judge: JudgeOptions,
): Promise<LedgerVerdict> {
  await lockCardLedger(sql);
  const ahead = aheadCards(sql, {
    tx: positionRow(sql, positions.app_transaction_log),
    cards: positionRow(sql, positions.table_cards),
  });
  const keys = changes.transactions ??
    sql`select null::text as row_pk, false as updated where false`;
  const [result] = await sql<LedgerVerdict[]>`
    with
    keys as materialized (${keys}),
    changed as (
      -- Probes by primary key through an array, never a join: the feed's fresh range
      -- is past the statistics, and a join planned on that guess could rerun the
      -- probes once per key.
      select card_id,
        transaction_id::text in (select row_pk from keys where updated) as updated,
        case when status = 'completed' then ${ledgerContribution(sql)} else 0 end as delta,
        (status = 'completed')::int as counted
      from app_transaction_log
      where transaction_id = any(array(select row_pk::uuid from keys)) and card_id is not null
    ),
    touched as (
      select card_id, bool_or(updated) as updated, sum(delta) as delta, sum(counted) as counted
      from (
        select card_id, updated, delta, counted from changed
        union all
        select card_id, false, 0, 0 from (${changes.cards}) cards
      ) touches
      group by card_id
    ),
    ahead as (${ahead}),
    plan as materialized (
      select t.*, exists (select 1 from ahead a where a.card_id = t.card_id) as ahead
      from touched t
    ),
    -- The ledger is probed once per card, by the update itself: a card it bumps (or
    -- keeps, when nothing it counts changed) is in the ledger; any other is seeded.
    bumped as (
      update monitoring_card_ledger l
      set expected_balance = l.expected_balance + p.delta,
        transactions = l.transactions + p.counted, updated_at = now()
      from plan p
      where l.card_id = p.card_id and not p.updated and (p.delta <> 0 or p.counted <> 0)
      returning l.card_id, l.expected_balance, l.transactions
    ),
    kept as (
      select l.card_id, l.expected_balance, l.transactions
      from plan p join monitoring_card_ledger l on l.card_id = p.card_id
      where not p.updated and p.delta = 0 and p.counted = 0
    ),
    reseed as (
      select card_id, ahead from plan
      where updated
        or card_id not in (select card_id from bumped union all select card_id from kept)
    ),
    recomputed as (
      ${ledgerTotals(sql, sql`array(select card_id from reseed where not ahead)`)}
    ),
    seeded as (
      insert into monitoring_card_ledger (card_id, expected_balance, transactions, updated_at)
      select s.card_id, coalesce(r.expected, 0), coalesce(r.transactions, 0), now()
      from reseed s left join recomputed r on r.card_id = s.card_id
      where not s.ahead
      on conflict (card_id) do update set expected_balance = excluded.expected_balance,
        transactions = excluded.transactions, updated_at = excluded.updated_at
      returning card_id, expected_balance, transactions
    ),
    dropped as (
      delete from monitoring_card_ledger l using reseed s
      where l.card_id = s.card_id and s.ahead
    ),
    balances as (
      select card_id, expected_balance, transactions from seeded
      union all
      select card_id, expected_balance, transactions from bumped
      union all
      select card_id, expected_balance, transactions from kept
    )
    select v.*, (select count(*)::int from plan where ahead) as deferred
    from (${
    verdict(
      sql,
      sql`
        from plan p
        join table_cards c on c.id = p.card_id
        left join balances b on b.card_id = p.card_id
        where not p.ahead`,
      judge,
    )
  }) v`;
  return result;
}

/**
 * The maintenance sweep's full reconciliation: recomputes every card's balance from
 * its whole ledger, judges every card on that one snapshot, and rebuilds the
 * running ledger from it, so drift from what the feed cannot see (deleted
 * transactions, a transaction moved to another card, a ledger row edited by hand)
 * is healed. Cards ahead of the balance detector's stored feed positions are left
 * out, to be seeded when their changes are read. Without stored positions (the
 * incremental check has not run yet) the ledger stays empty: its first run seeds.
 *
 * @param incrementalKey the watermark key of the incremental balance check
 * @returns the verdict on every card with a `table_cards` row
 */
export async function resetCardLedger(
  sql: Tx,
  incrementalKey: string,
  judge: JudgeOptions,
): Promise<LedgerVerdict> {
  await lockCardLedger(sql);
  await clearCardLedger(sql);
  const positions = sql`
    select (position #>> '{feeds,app_transaction_log,xid}')::xid8 as tx_xid,
      (position #>> '{feeds,app_transaction_log,id}')::bigint as tx_id,
      (position #>> '{feeds,table_cards,xid}')::xid8 as card_xid,
      (position #>> '{feeds,table_cards,id}')::bigint as card_id
    from monitoring_watermarks
    where detector_id = ${incrementalKey}
      and position #> '{feeds,app_transaction_log}' is not null
      and position #> '{feeds,table_cards}' is not null`;
  const [result] = await sql<LedgerVerdict[]>`
    with
    positions as (${positions}),
    ahead as (${
    aheadCards(sql, {
      tx: sql`(select tx_xid, tx_id from positions)`,
      cards: sql`(select card_xid, card_id from positions)`,
    })
  }),
    totals as materialized (${ledgerTotals(sql, null)}),
    subjects as (
      select card_id from totals union select id from table_cards
    ),
    reset as (
      insert into monitoring_card_ledger (card_id, expected_balance, transactions)
      select s.card_id, coalesce(t.expected, 0), coalesce(t.transactions, 0)
      from subjects s left join totals t on t.card_id = s.card_id
      where exists (select 1 from positions)
        and not exists (select 1 from ahead a where a.card_id = s.card_id)
    )
    select v.*, 0 as deferred
    from (${
    verdict(
      sql,
      sql`
        from table_cards c
        left join (select card_id, expected as expected_balance, transactions from totals) b
          on b.card_id = c.id`,
      judge,
    )
  }) v`;
  return result;
}
