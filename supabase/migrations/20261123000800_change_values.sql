-- The change feed keeps the values detectors judge, so a critical cycle reads the
-- feed instead of probing the platform's tables once per changed row.
--
-- 1. A capture names, after its key column, the columns whose values it keeps:
--    new_values for every change, and old_values for an update (the row as it was
--    before the statement). balance_mismatch_detection checks that each card's amount
--    moved by exactly what its new transactions add (see
--    src/detectors/festival/balance_deltas.ts), which needs the amount before and
--    after, not only the key.
-- 2. Triggers installed before this migration pass no columns and keep working:
--    their changes carry no values, and readers fall back to reading the row.
--    `deno task monitor setup` (and the dev server) reinstall them with columns.
-- 3. The running card ledger is gone: the delta check needs no per-card state, so a
--    cycle no longer writes a row per touched card.

alter table monitoring_changes
  add column if not exists new_values jsonb,
  add column if not exists old_values jsonb;

create or replace function monitoring_capture_changes() returns trigger
language plpgsql as $$
declare
  key_column text := tg_argv[0];
  new_list text;
  old_list text;
begin
  -- TG_ARGV[0] names the primary-key column; any further arguments name captured
  -- columns. new_rows (and, for updates, old_rows) are the statement's transition tables.
  if tg_nargs = 1 then
    execute format(
      'insert into monitoring_changes (source_table, row_pk, op) select %L, (%I)::text, %L from new_rows',
      tg_table_name, key_column, tg_op);
    return null;
  end if;
  select string_agg(format('%L, n.%I', col, col), ', '),
    string_agg(format('%L, o.%I', col, col), ', ')
  into new_list, old_list
  from unnest(tg_argv[1:tg_nargs - 1]) as col;
  if tg_op = 'INSERT' then
    execute format(
      'insert into monitoring_changes (source_table, row_pk, op, new_values) '
      'select %L, (n.%I)::text, %L, jsonb_build_object(%s) from new_rows n',
      tg_table_name, key_column, tg_op, new_list);
  else
    -- An update that changed the key finds no old row under the new key: no old values.
    execute format(
      'insert into monitoring_changes (source_table, row_pk, op, new_values, old_values) '
      'select %L, (n.%I)::text, %L, jsonb_build_object(%s), '
      'case when o.%I is not null then jsonb_build_object(%s) end '
      'from new_rows n left join old_rows o on o.%I = n.%I',
      tg_table_name, key_column, tg_op, new_list, key_column, old_list, key_column, key_column);
  end if;
  return null;
end;
$$;

-- Replaced by a version that takes the captured columns (none by default), so one
-- name keeps one meaning: a two-argument call still means "keys only".
drop function if exists monitoring_install_capture(regclass, text);

create or replace function monitoring_install_capture(
  p_table regclass,
  p_key_column text,
  p_columns text[] default '{}'
)
returns void
language plpgsql as $$
declare
  args text;
begin
  select string_agg(format('%L', arg), ', ') into args
  from unnest(array[p_key_column] || p_columns) as arg;
  execute format(
    'create or replace trigger monitoring_capture_insert after insert on %s '
    'referencing new table as new_rows for each statement '
    'execute function monitoring_capture_changes(%s)', p_table, args);
  execute format(
    'create or replace trigger monitoring_capture_update after update on %s '
    'referencing old table as old_rows new table as new_rows for each statement '
    'execute function monitoring_capture_changes(%s)', p_table, args);
end;
$$;

drop table if exists monitoring_card_ledger;
