-- Retention per table for the maintenance tier: cleanup_monitoring_data(jsonb) takes
-- a number of days for each kind of history and a bound on the work of one call, so
-- an hourly run deletes in short batches within its statement timeout and leaves
-- the rest for the next hour (the report says so). Events are deleted only once
-- RESOLVED or FALSE_POSITIVE: live ones stay whatever their age. The runbooks'
-- cleanup_monitoring_data(retention_days int) keeps its signature and report and
-- now calls this one, unbounded.

-- Index-driven batches: each batch finds its oldest rows through these instead of
-- scanning the tables.
create index if not exists monitoring_events_closed_idx
  on monitoring_events ((coalesce(resolved_at, updated_at)))
  where status in ('RESOLVED', 'FALSE_POSITIVE');
create index if not exists alert_history_created_idx
  on alert_history (created_at) where status <> 'pending';

-- retention: {"events_days", "snapshots_days", "detector_runs_days", "alerts_days",
-- "cycles_days"} (each >= 1, default 30), "batch_size" (default 5000) and
-- "max_batches" (per table per call; null or absent: until done).
create or replace function cleanup_monitoring_data(retention jsonb)
returns jsonb
language plpgsql as $$
declare
  days_key text;
  batch int := coalesce((retention ->> 'batch_size')::int, 5000);
  max_batches int := (retention ->> 'max_batches')::int;
  cutoff timestamptz;
  n bigint;
  done int;
  deleted bigint;
  report jsonb := '{}'::jsonb;
  horizon xid8;
begin
  foreach days_key in array array['events_days', 'snapshots_days', 'detector_runs_days', 'alerts_days', 'cycles_days'] loop
    if coalesce((retention ->> days_key)::int, 30) < 1 then
      raise exception 'Cannot clean up with %: received %, expected at least 1 day', days_key, retention ->> days_key;
    end if;
  end loop;
  if batch < 1 or coalesce(max_batches, 1) < 1 then
    raise exception 'Cannot clean up: batch_size and max_batches must be at least 1, received % and %', batch, max_batches;
  end if;

  -- Alerts first: an alert of a deleted event would otherwise only lose its event_id.
  cutoff := now() - make_interval(days => coalesce((retention ->> 'alerts_days')::int, 30));
  deleted := 0; done := 0;
  loop
    delete from alert_history where alert_id in (
      select alert_id from alert_history
      where created_at < cutoff and status <> 'pending' order by created_at limit batch);
    get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
    exit when n < batch or done >= max_batches;
  end loop;
  report := report || jsonb_build_object('alerts', jsonb_build_object(
    'deleted', deleted, 'older_than', cutoff, 'more', n = batch));

  cutoff := now() - make_interval(days => coalesce((retention ->> 'events_days')::int, 30));
  deleted := 0; done := 0;
  loop
    delete from monitoring_events where event_id in (
      select event_id from monitoring_events
      where status in ('RESOLVED', 'FALSE_POSITIVE') and coalesce(resolved_at, updated_at) < cutoff
      order by coalesce(resolved_at, updated_at) limit batch);
    get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
    exit when n < batch or done >= max_batches;
  end loop;
  report := report || jsonb_build_object('events', jsonb_build_object(
    'deleted', deleted, 'older_than', cutoff, 'more', n = batch));

  cutoff := now() - make_interval(days => coalesce((retention ->> 'snapshots_days')::int, 30));
  deleted := 0; done := 0;
  loop
    delete from system_health_snapshots where snapshot_id in (
      select snapshot_id from system_health_snapshots
      where snapshot_timestamp < cutoff order by snapshot_timestamp limit batch);
    get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
    exit when n < batch or done >= max_batches;
  end loop;
  report := report || jsonb_build_object('snapshots', jsonb_build_object(
    'deleted', deleted, 'older_than', cutoff, 'more', n = batch));

  cutoff := now() - make_interval(days => coalesce((retention ->> 'detector_runs_days')::int, 30));
  deleted := 0; done := 0;
  loop
    delete from monitoring_detector_runs where run_id in (
      select run_id from monitoring_detector_runs
      where started_at < cutoff order by started_at limit batch);
    get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
    exit when n < batch or done >= max_batches;
  end loop;
  report := report || jsonb_build_object('detector_runs', jsonb_build_object(
    'deleted', deleted, 'older_than', cutoff, 'more', n = batch));

  cutoff := now() - make_interval(days => coalesce((retention ->> 'cycles_days')::int, 30));
  deleted := 0; done := 0;
  loop
    delete from monitoring_cycles where cycle_id in (
      select cycle_id from monitoring_cycles
      where started_at < cutoff and status <> 'running' order by started_at limit batch);
    get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
    exit when n < batch or done >= max_batches;
  end loop;
  report := report || jsonb_build_object('cycles', jsonb_build_object(
    'deleted', deleted, 'older_than', cutoff, 'more', n = batch));

  -- The change feed keeps only what some detector has not read yet.
  deleted := 0; done := 0; n := 0;
  select min((feed.value ->> 'xid')::xid8) into horizon
  from monitoring_watermarks w, jsonb_each(w.position -> 'feeds') feed;
  if horizon is not null then
    loop
      delete from monitoring_changes where change_id in (
        select change_id from monitoring_changes where txid < horizon order by change_id limit batch);
      get diagnostics n = row_count; deleted := deleted + n; done := done + 1;
      exit when n < batch or done >= max_batches;
    end loop;
  end if;
  report := report || jsonb_build_object('changes', jsonb_build_object(
    'deleted', deleted, 'more', n = batch));
  return report;
end;
$$;

-- The runbooks' call, unchanged in signature and report shape.
create or replace function cleanup_monitoring_data(retention_days int default 30)
returns jsonb
language plpgsql as $$
declare
  report jsonb;
begin
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1, received %', retention_days;
  end if;
  report := cleanup_monitoring_data(jsonb_build_object(
    'events_days', retention_days, 'snapshots_days', retention_days,
    'detector_runs_days', retention_days, 'alerts_days', retention_days,
    'cycles_days', retention_days));
  return jsonb_build_object(
    'retention_days', retention_days,
    'events', report -> 'events' -> 'deleted',
    'snapshots', report -> 'snapshots' -> 'deleted',
    'detector_runs', report -> 'detector_runs' -> 'deleted',
    'alerts', report -> 'alerts' -> 'deleted',
    'cycles', report -> 'cycles' -> 'deleted',
    'changes', report -> 'changes' -> 'deleted');
end;
$$;
