-- Free-text filter of GET /events (`q`: title ILIKE '%term%'). Without an index a
-- rare term walks every event (over a second at a million); a trigram index finds
-- it directly. pg_trgm ships with Postgres (contrib) and with Supabase; where it
-- cannot be created, the filter still works, by scan, and this says so.
do $$
declare
  trgm_schema text;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_trgm') then
    begin
      create extension pg_trgm;
    exception when others then
      raise notice 'pg_trgm not available (%): the events title filter scans', sqlerrm;
      return;
    end;
  end if;
  -- Supabase installs extensions in the "extensions" schema: qualify the operator class.
  select n.nspname into trgm_schema
  from pg_extension e join pg_namespace n on n.oid = e.extnamespace
  where e.extname = 'pg_trgm';
  execute format(
    'create index if not exists monitoring_events_title_trgm_idx '
    'on monitoring_events using gin (title %I.gin_trgm_ops)', trgm_schema);
end;
$$;
