import type { Fragment, Tx } from "../../db/client.ts";
import type { FeedRead } from "../change_feed.ts";
import { inFeedRange } from "../change_feed.ts";
import type { CardBalance } from "./expected_balance.ts";
import { ledgerContribution, ledgerTotals } from "./expected_balance.ts";

/**
 * How the balance check judges cards without re-reading their histories.
 *
 * A card is balanced when its amount equals the sum of its completed transactions
 * (the ops guide's check). A balanced card stays balanced through a change exactly
 * when its amount moves by what its new transactions add. The change feed keeps
 * both sides of that equation (see migration 20261123000800): each inserted
 * transaction's values, and each card update's amount before and after. So a cycle
 * checks every touched card by its deltas alone, read from the feed, and
 * recomputes in full only the cards that need it:
 *
 * - **Deltas disagree**: the amount moved by something other than the new
 *   transactions (money from nowhere, an order that took no money). A delta that
 *   disagrees only because a platform transaction was split across two feed reads,
 *   or the card and its transaction were written by separate commits, is cleared by
 *   the full recompute, which reads both tables at one snapshot.
 * - **A live event**: a card already off stays off through balanced deltas; the
 *   recompute tells when it is reconciled.
 * - **Changes the deltas cannot describe**: an updated transaction (completed
 *   later, its amount corrected, moved to another card: both cards are recomputed),
 *   a new card, a change captured before the feed kept values.
 *
 * Deltas are compared exactly (numeric), not within the tolerance, so sub-tolerance
 * drift cannot accumulate unseen; the tolerance applies to the full recompute.
 *
 * What stays balanced by induction rests on the card having been balanced before
 * the change: the maintenance sweep judges every card from its whole history, and
 * every card it finds off gets a live event, recomputed on each later touch. What
 * the feed does not see (a deleted transaction, a capture trigger disabled for a
 * while) is found by the next sweep, as is a card whose event an operator resolved
 * while it was still off, unless a later touch of it disagrees first.
 *
 * Cost: a cycle reads its feed ranges (two index range scans) and groups them by
 * card; the platform's tables are read only for recomputed cards, one index-only
 * scan of the pack's covering index each. Nothing is written per card.
 */

/** The verdict on the cards a balance statement checked. */
export interface BalanceVerdict {
  /** Cards checked, by the deltas of their changes or in full. */
  examined: number;
  /** Cards recomputed in full from their whole history. */
  recomputed: number;
  /** Cards whose amount differs from their history by more than the tolerance. */
  mismatched: CardBalance[];
  /** Balanced cards that have a live event: it can be resolved. */
  reconciled: string[];
}

/** How to judge balances: the tolerance, and which cards have a live event. */
export interface JudgeOptions {
  tolerance: number;
  /** Cards with a live balance event (column `card_id`). */
  liveCards: Fragment;
}

/** The two feed ranges one incremental run read. */
export interface BalanceFeeds {
  transactions: FeedRead;
  cards: FeedRead;
}

/**
 * Recomputes the cards of `subjects` (a subquery with column `card_id`), or every
 * card when null, from their whole histories and judges them against
 * `table_cards`. A subquery with columns examined, mismatched (jsonb) and
 * reconciled (text[]): only the mismatches and the reconciled cards leave Postgres.
 * It may read the CTEs of the statement it is nested in.
 */
function judgment(sql: Tx, subjects: Fragment | null, judge: JudgeOptions): Fragment {
  // Cards are probed by key through an array, never a join: a guess of the
  // subjects' count from the feed's statistics must not turn into a scan.
  const from = subjects
    ? sql`
      from table_cards c
      left join (${ledgerTotals(sql, sql`array(select card_id from (${subjects}) s)`)}) b
        on b.card_id = c.id
      where c.id = any(array(select card_id from (${subjects}) s))`
    : sql`
      from table_cards c
      left join (${ledgerTotals(sql, null)}) b on b.card_id = c.id`;
  return sql`
    select count(*)::int as examined,
      coalesce(jsonb_agg(to_jsonb(j)) filter (where abs(j.difference) > ${judge.tolerance}),
        '[]'::jsonb) as mismatched,
      coalesce(
        array_agg(j.card_id) filter (
          where abs(j.difference) <= ${judge.tolerance}
            -- An array, read once: as a subquery here it would be run once per card.
            and j.card_id = any(array(select card_id from (${judge.liveCards}) live))),
        '{}') as reconciled
    from (
      select c.id as card_id, c.amount as card_amount,
        coalesce(b.expected, 0) as expected_balance,
        c.amount - coalesce(b.expected, 0) as difference,
        coalesce(b.transactions, 0) as transactions
      ${from}
    ) j`;
}

/** Sorted by card, so a verdict reads (and its events are written) in a stable order. */
function sorted(verdict: BalanceVerdict): BalanceVerdict {
  return {
    ...verdict,
    mismatched: verdict.mismatched.toSorted((a, b) => a.card_id.localeCompare(b.card_id)),
    reconciled: verdict.reconciled.toSorted(),
  };
}

/**
 * Judges every card of `subjects` (a subquery with column `card_id`), or every card
 * when null, from its whole history: the maintenance sweep and a first run's
 * backfill.
 */
export async function judgeCards(
  sql: Tx,
  subjects: Fragment | null,
  judge: JudgeOptions,
): Promise<BalanceVerdict> {
  const [result] = await sql<Omit<BalanceVerdict, "recomputed">[]>`${
    subjects
      ? sql`
        with subjects as materialized (${subjects})
        ${judgment(sql, sql`select card_id from subjects`, judge)}`
      : judgment(sql, null, judge)
  }`;
  return sorted({ ...result, recomputed: result.examined });
}

/**
 * Checks every card the feed ranges touched by its deltas, and recomputes in full
 * those the deltas cannot clear (see the module notes). One statement.
 */
export async function checkTouchedCards(
  sql: Tx,
  feeds: BalanceFeeds,
  judge: JudgeOptions,
): Promise<BalanceVerdict> {
  const [result] = await sql<BalanceVerdict[]>`
    with
    tx_changes as materialized (
      select row_pk, op, new_values, old_values from monitoring_changes
      where ${inFeedRange(sql, feeds.transactions)}
    ),
    card_changes as materialized (
      select row_pk, op, new_values, old_values from monitoring_changes
      where ${inFeedRange(sql, feeds.cards)}
    ),
    inserted as (
      select new_values ->> 'card_id' as card_id, new_values ->> 'status' as status,
        new_values ->> 'transaction_type' as transaction_type,
        (new_values ->> 'amount_involved')::numeric as amount_involved,
        (new_values ->> 'previous_balance')::numeric as previous_balance,
        (new_values ->> 'new_balance')::numeric as new_balance
      from tx_changes where op = 'INSERT' and new_values is not null
    ),
    moves as (
      -- An inserted transaction moves its card's expected balance by its contribution.
      select card_id,
        case when status = 'completed' then ${ledgerContribution(sql)} else 0 end as expected,
        0 as amount, false as recompute
      from inserted
      union all
      -- An updated transaction: the card it is on now, and the one it was on.
      select moved.card_id, 0, 0, true
      from tx_changes t
      cross join lateral (values (t.new_values ->> 'card_id'), (t.old_values ->> 'card_id'))
        as moved(card_id)
      where t.op is distinct from 'INSERT' and t.new_values is not null
      union all
      -- Captured without values: the card is found by key. Probes through an array,
      -- never a join (the feed's fresh range is past the planner's statistics).
      select card_id, 0, 0, true from app_transaction_log
      where transaction_id = any(array(select row_pk::uuid from tx_changes where new_values is null))
      union all
      -- A card's amount moves by new - old; without both (a new card, a change
      -- captured without values) it is recomputed.
      select row_pk, 0,
        coalesce((new_values ->> 'amount')::numeric - (old_values ->> 'amount')::numeric, 0),
        new_values is null or old_values is null
      from card_changes
    ),
    touched as materialized (
      select card_id, sum(expected) as expected, sum(amount) as amount,
        bool_or(recompute) as recompute
      from moves where card_id is not null group by card_id
    ),
    suspects as materialized (
      select card_id from touched
      where recompute or amount <> expected
        or card_id = any(array(select card_id from (${judge.liveCards}) live))
    )
    select (select count(*)::int from touched) as examined, j.examined as recomputed,
      j.mismatched, j.reconciled
    from (${judgment(sql, sql`select card_id from suspects`, judge)}) j`;
  return sorted(result);
}
