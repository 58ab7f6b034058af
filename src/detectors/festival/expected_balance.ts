import type { Tx } from "../../db/client.ts";

/** A card's stored amount against the balance its completed transactions imply. */
export interface CardBalance {
  card_id: string;
  card_amount: number;
  expected_balance: number;
  difference: number;
  transactions: number;
}

/**
 * Compares stored and expected balances for the cards in `cardIds`, or for every
 * card when `cardIds` is null (the maintenance sweep). The expected balance follows
 * the ledger rules in DESIGN.md: recharges add, bar orders subtract, manual
 * corrections add new_balance - previous_balance, and only completed rows count.
 */
export async function cardBalances(sql: Tx, cardIds: string[] | null): Promise<CardBalance[]> {
  const ledger = sql`
    select card_id,
      count(*)::int as transactions,
      sum(case transaction_type
        when 'stripe_recharge' then amount_involved
        when 'checkpoint_recharge' then amount_involved
        when 'bar_order' then -amount_involved
        when 'manual_correction' then new_balance - previous_balance
        else 0 end) as expected
    from app_transaction_log
    where status = 'completed'
      ${cardIds ? sql`and card_id = any(${cardIds}::text[])` : sql``}
    group by card_id`;
  return await sql<CardBalance[]>`
    with ledger as (${ledger})
    select c.id as card_id, c.amount as card_amount,
      coalesce(l.expected, 0) as expected_balance,
      c.amount - coalesce(l.expected, 0) as difference,
      coalesce(l.transactions, 0) as transactions
    from table_cards c left join ledger l on l.card_id = c.id
    ${cardIds ? sql`where c.id = any(${cardIds}::text[])` : sql``}`;
}
