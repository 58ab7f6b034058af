-- Running card balances for balance_mismatch_detection, so a critical cycle costs
-- what changed rather than each touched card's whole history.
--
-- 1. The change feed records which operation wrote each key. An inserted
--    transaction adds its contribution to a card's running balance; an updated one
--    (pending -> completed, an amount fixed) changed a contribution the ledger
--    already holds, and the feed keeps no old values, so its card is recomputed in
--    full. Rows captured before this migration have no operation (null) and are
--    treated as updates: the safe side. The capture triggers call the function by
--    name, so replacing it is all an installed platform needs.
-- 2. monitoring_card_ledger holds each card's expected balance as of the detector's
--    feed position. Deleted transactions are not captured: the maintenance sweep
--    recomputes every card and resets this table (see
--    src/detectors/festival/card_ledger.ts).

alter table monitoring_changes add column if not exists op text
  check (op in ('INSERT', 'UPDATE'));

create or replace function monitoring_capture_changes() returns trigger
language plpgsql as $$
begin
  -- TG_ARGV[0] names the primary-key column; new_rows is the statement's transition table.
  execute format(
    'insert into monitoring_changes (source_table, row_pk, op) select %L, (%I)::text, %L from new_rows',
    tg_table_name, tg_argv[0], tg_op);
  return null;
end;
$$;

create table if not exists monitoring_card_ledger (
  card_id text primary key,
  -- Sum of the card's completed transactions under the ledger rules in DESIGN.md.
  expected_balance numeric not null,
  -- How many completed transactions that sum covers.
  transactions int not null,
  updated_at timestamptz not null default now()
);
alter table monitoring_card_ledger enable row level security;
