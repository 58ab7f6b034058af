import type { Fragment, Tx } from "../../db/client.ts";

/** A card's stored amount against the balance its completed transactions imply. */
export interface CardBalance {
  card_id: string;
  card_amount: number;
  expected_balance: number;
  difference: number;
  transactions: number;
}

/**
 * What one `app_transaction_log` row adds to its card's balance once completed, by
 * the ledger rules in DESIGN.md: recharges add, bar orders subtract, manual
 * corrections add new_balance - previous_balance. A fragment over the table's own
 * column names, shared by the full recompute and the running ledger so both count
 * alike; a row missing an amount adds nothing.
 */
export function ledgerContribution(sql: Tx): Fragment {
  return sql`coalesce(case transaction_type
    when 'stripe_recharge' then amount_involved
    when 'checkpoint_recharge' then amount_involved
    when 'bar_order' then -amount_involved
    when 'manual_correction' then new_balance - previous_balance
    else 0 end, 0)`;
}

/**
 * Each card's expected balance from all of its completed transactions, for the
 * cards in `cardIds` (a text[] expression), or for every card when it is null. A
 * subquery fragment with columns (card_id, expected, transactions); cards without
 * a completed transaction have no row. `card_id = any(...)` keeps it on the
 * pack's covering (card_id, ...) index: an index-only scan per card.
 */
export function ledgerTotals(sql: Tx, cardIds: Fragment | null): Fragment {
  return sql`
    select card_id, count(*)::int as transactions, sum(${ledgerContribution(sql)}) as expected
    from app_transaction_log
    where status = 'completed' and card_id is not null
      ${cardIds ? sql`and card_id = any(${cardIds})` : sql``}
    group by card_id`;
}

/**
 * Compares stored and expected balances for the cards in `cardIds`, or for every
 * card when `cardIds` is null, recomputing each card's whole ledger: the ops
 * guide's check, and what the delta check (`balance_deltas.ts`) falls back to.
 */
export async function cardBalances(sql: Tx, cardIds: string[] | null): Promise<CardBalance[]> {
  return await sql<CardBalance[]>`
    with ledger as (${ledgerTotals(sql, cardIds && sql`${cardIds}::text[]`)})
    select c.id as card_id, c.amount as card_amount,
      coalesce(l.expected, 0) as expected_balance,
      c.amount - coalesce(l.expected, 0) as difference,
      coalesce(l.transactions, 0) as transactions
    from table_cards c left join ledger l on l.card_id = c.id
    ${cardIds ? sql`where c.id = any(${cardIds}::text[])` : sql``}`;
}
