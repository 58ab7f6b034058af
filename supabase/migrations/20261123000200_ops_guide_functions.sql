-- The ops guide's SQL surface: the monitoring_system_health view its health-check
-- script reads, a daily summary the weekly reports query, and the two maintenance
-- functions it calls by name. Runbooks call these unchanged, so their names and
-- signatures are part of the contract.

create or replace view monitoring_system_health
with (security_invoker = true) as
select
  s.snapshot_timestamp as last_snapshot_at,
  coalesce(s.overall_health_status, 'WARNING') as overall_health_status,
  s.success_rate_percent,
  s.avg_processing_time_ms,
  s.total_transactions_last_hour,
  (select count(*) from monitoring_events e
    where e.status in ('OPEN', 'ACKNOWLEDGED') and e.severity = 'CRITICAL') as open_critical_events,
  (select count(*) from monitoring_events e
    where e.status in ('OPEN', 'ACKNOWLEDGED') and e.severity = 'HIGH') as open_high_events,
  (select count(*) from monitoring_events e
    where e.status in ('OPEN', 'ACKNOWLEDGED')) as open_events,
  (select count(*) from monitoring_events e
    where e.detection_timestamp > now() - interval '1 hour') as events_last_hour,
  (select count(*) from monitoring_events e
    where e.detection_timestamp > now() - interval '24 hours') as events_last_24h,
  (select max(c.started_at) from monitoring_cycles c) as last_cycle_at,
  (select count(*) from monitoring_circuit_breakers b where b.state <> 'closed') as open_breakers
from (select 1) one
left join lateral (
  select * from system_health_snapshots order by snapshot_timestamp desc limit 1
) s on true;

create materialized view if not exists monitoring_daily_summary as
select
  date_trunc('day', detection_timestamp)::date as day,
  pack,
  detection_algorithm,
  event_type,
  severity,
  count(*) as events,
  count(*) filter (where status = 'FALSE_POSITIVE') as false_positives,
  count(*) filter (where status = 'RESOLVED') as resolved,
  avg(extract(epoch from resolved_at - detection_timestamp)) filter (where resolved_at is not null)
    as avg_seconds_to_resolve
from monitoring_events
group by 1, 2, 3, 4, 5
with no data;
create unique index if not exists monitoring_daily_summary_uq
  on monitoring_daily_summary (day, pack, detection_algorithm, event_type, severity);

create or replace function refresh_monitoring_views() returns void
language plpgsql as $$
begin
  -- Concurrent refresh needs a populated view; the first refresh cannot be concurrent.
  if exists (select 1 from pg_matviews where matviewname = 'monitoring_daily_summary' and ispopulated) then
    refresh materialized view concurrently monitoring_daily_summary;
  else
    refresh materialized view monitoring_daily_summary;
  end if;
end;
$$;

-- Deletes history older than retention_days. Live events (OPEN, ACKNOWLEDGED) are
-- never deleted, whatever their age. Deletes run in batches so no statement holds
-- row locks on a large range for long.
create or replace function cleanup_monitoring_data(retention_days int default 30)
returns jsonb
language plpgsql as $$
declare
  cutoff timestamptz := now() - make_interval(days => retention_days);
  batch int := 5000;
  n bigint;
  deleted_events bigint := 0;
  deleted_snapshots bigint := 0;
  deleted_runs bigint := 0;
  deleted_alerts bigint := 0;
  deleted_cycles bigint := 0;
  deleted_changes bigint := 0;
  horizon xid8;
begin
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1, received %', retention_days;
  end if;

  loop
    delete from alert_history where alert_id in (
      select alert_id from alert_history
      where created_at < cutoff and status <> 'pending' limit batch);
    get diagnostics n = row_count; deleted_alerts := deleted_alerts + n;
    exit when n < batch;
  end loop;

  loop
    delete from monitoring_events where event_id in (
      select event_id from monitoring_events
      where status in ('RESOLVED', 'FALSE_POSITIVE') and coalesce(resolved_at, updated_at) < cutoff
      limit batch);
    get diagnostics n = row_count; deleted_events := deleted_events + n;
    exit when n < batch;
  end loop;

  loop
    delete from system_health_snapshots where snapshot_id in (
      select snapshot_id from system_health_snapshots where snapshot_timestamp < cutoff limit batch);
    get diagnostics n = row_count; deleted_snapshots := deleted_snapshots + n;
    exit when n < batch;
  end loop;

  loop
    delete from monitoring_detector_runs where run_id in (
      select run_id from monitoring_detector_runs where started_at < cutoff limit batch);
    get diagnostics n = row_count; deleted_runs := deleted_runs + n;
    exit when n < batch;
  end loop;

  loop
    delete from monitoring_cycles where cycle_id in (
      select cycle_id from monitoring_cycles where started_at < cutoff and status <> 'running' limit batch);
    get diagnostics n = row_count; deleted_cycles := deleted_cycles + n;
    exit when n < batch;
  end loop;

  -- The change feed only needs rows that some detector has not read yet.
  select min((feed.value ->> 'xid')::xid8) into horizon
  from monitoring_watermarks w, jsonb_each(w.position -> 'feeds') feed;
  if horizon is not null then
    loop
      delete from monitoring_changes where change_id in (
        select change_id from monitoring_changes where txid < horizon limit batch);
      get diagnostics n = row_count; deleted_changes := deleted_changes + n;
      exit when n < batch;
    end loop;
  end if;

  return jsonb_build_object(
    'retention_days', retention_days,
    'events', deleted_events,
    'snapshots', deleted_snapshots,
    'detector_runs', deleted_runs,
    'alerts', deleted_alerts,
    'cycles', deleted_cycles,
    'changes', deleted_changes);
end;
$$;
