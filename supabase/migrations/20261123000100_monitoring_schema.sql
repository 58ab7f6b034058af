-- Monitoring schema: events, health snapshots, alert outbox, and the state that
-- edge function isolates cannot keep themselves (leases, breakers, watermarks,
-- detector runs, runtime config). Everything is RLS-enabled with no policies, so
-- only the service role and the functions' own connection can read it.

create table if not exists monitoring_events (
  event_id bigint generated always as identity primary key,
  event_type text not null,
  severity text not null check (severity in ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
  status text not null default 'OPEN'
    check (status in ('OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'FALSE_POSITIVE')),
  detection_algorithm text not null,
  pack text not null,
  title text not null,
  card_id text,
  transaction_id text,
  entity_type text,
  entity_id text,
  confidence_score numeric not null default 1 check (confidence_score between 0 and 1),
  context jsonb not null default '{}'::jsonb,
  fingerprint text not null,
  occurred_at timestamptz not null default now(),
  detection_timestamp timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolution_notes text,
  occurrence_count int not null default 1,
  last_seen_at timestamptz not null default now()
);

-- One live event per fingerprint: repeats bump occurrence_count instead of inserting.
create unique index if not exists monitoring_events_live_fingerprint_uq
  on monitoring_events (fingerprint) where status in ('OPEN', 'ACKNOWLEDGED');
-- Newest-first keyset pagination for the dashboard.
create index if not exists monitoring_events_detected_idx
  on monitoring_events (detection_timestamp desc, event_id desc);
create index if not exists monitoring_events_open_idx
  on monitoring_events (severity, detection_algorithm) where status in ('OPEN', 'ACKNOWLEDGED');
create index if not exists monitoring_events_card_idx
  on monitoring_events (card_id) where card_id is not null;

create table if not exists system_health_snapshots (
  snapshot_id bigint generated always as identity primary key,
  snapshot_timestamp timestamptz not null default now(),
  avg_processing_time_ms numeric,
  success_rate_percent numeric,
  total_transactions_last_hour int not null default 0,
  monitoring_events_last_hour int not null default 0,
  open_critical_events int not null default 0,
  overall_health_status text not null check (overall_health_status in ('HEALTHY', 'WARNING', 'CRITICAL')),
  details jsonb not null default '{}'::jsonb
);
create index if not exists system_health_snapshots_ts_idx
  on system_health_snapshots (snapshot_timestamp desc);

create table if not exists alert_history (
  alert_id bigint generated always as identity primary key,
  event_id bigint references monitoring_events (event_id) on delete set null,
  channel text not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'suppressed')),
  dedup_key text not null,
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index if not exists alert_history_due_idx
  on alert_history (next_attempt_at) where status = 'pending';
create index if not exists alert_history_event_idx on alert_history (event_id);

-- One row per cycle, written by the service itself: pg_cron reports success as soon
-- as the HTTP request is queued, so freshness is judged from here, never from cron.
create table if not exists monitoring_cycles (
  cycle_id uuid primary key,
  tiers text[] not null,
  trigger text not null default 'http',
  status text not null default 'running'
    check (status in ('running', 'ok', 'partial', 'failed', 'dry_run')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  duration_ms numeric,
  summary jsonb not null default '{}'::jsonb
);
create index if not exists monitoring_cycles_started_idx on monitoring_cycles (started_at desc);

create table if not exists monitoring_detector_runs (
  run_id bigint generated always as identity primary key,
  cycle_id uuid not null,
  tier text not null,
  detector_id text not null,
  pack text not null,
  mode text not null default 'incremental',
  status text not null check (status in ('ok', 'skipped', 'failed', 'breaker_open')),
  started_at timestamptz not null default now(),
  duration_ms numeric not null default 0,
  rows_examined bigint not null default 0,
  findings int not null default 0,
  new_events int not null default 0,
  resolved_events int not null default 0,
  error text
);
create index if not exists monitoring_detector_runs_detector_idx
  on monitoring_detector_runs (detector_id, started_at desc);
create index if not exists monitoring_detector_runs_started_idx
  on monitoring_detector_runs (started_at);

-- Per-detector read position (see src/detectors/change_feed.ts for its meaning).
create table if not exists monitoring_watermarks (
  detector_id text primary key,
  position jsonb not null,
  updated_at timestamptz not null default now()
);

-- Lease per tier: a process that dies mid-cycle leaves a row that simply expires,
-- which a session-level advisory lock behind the transaction pooler could not promise.
create table if not exists monitoring_cycle_leases (
  tier text primary key,
  cycle_id uuid not null,
  holder text not null,
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null
);

create table if not exists monitoring_circuit_breakers (
  name text primary key,
  state text not null default 'closed' check (state in ('closed', 'open', 'half_open')),
  failures int not null default 0,
  window_started_at timestamptz,
  opened_at timestamptz,
  trial_started_at timestamptz,
  last_failure_at timestamptz,
  last_success_at timestamptz,
  last_error text,
  updated_at timestamptz not null default now()
);

create table if not exists monitoring_config (
  key text primary key,
  value jsonb not null,
  description text,
  updated_at timestamptz not null default now(),
  updated_by text
);

-- Change feed: statement-level triggers on the monitored tables (installed by the
-- service's setup, not by this migration, because those tables belong to the
-- platform) append the key of every inserted or updated row with the writing
-- transaction's id. Detectors read it by transaction-id horizon, which is what lets
-- a row that commits late, or carries an old timestamp, still be examined once.
create table if not exists monitoring_changes (
  change_id bigint generated always as identity primary key,
  source_table text not null,
  row_pk text not null,
  txid xid8 not null default pg_current_xact_id(),
  captured_at timestamptz not null default now()
);
create index if not exists monitoring_changes_feed_idx
  on monitoring_changes (source_table, txid, change_id);

create or replace function monitoring_capture_changes() returns trigger
language plpgsql as $$
begin
  -- TG_ARGV[0] names the primary-key column; new_rows is the statement's transition table.
  execute format(
    'insert into monitoring_changes (source_table, row_pk) select %L, (%I)::text from new_rows',
    tg_table_name, tg_argv[0]);
  return null;
end;
$$;

-- Installs the capture triggers on one platform table. Transition tables allow only
-- one event per trigger, hence a trigger for inserts and one for updates.
create or replace function monitoring_install_capture(p_table regclass, p_key_column text)
returns void
language plpgsql as $$
begin
  execute format(
    'create or replace trigger monitoring_capture_insert after insert on %s '
    'referencing new table as new_rows for each statement '
    'execute function monitoring_capture_changes(%L)', p_table, p_key_column);
  execute format(
    'create or replace trigger monitoring_capture_update after update on %s '
    'referencing new table as new_rows for each statement '
    'execute function monitoring_capture_changes(%L)', p_table, p_key_column);
end;
$$;

do $$
declare t text;
begin
  foreach t in array array[
    'monitoring_events', 'system_health_snapshots', 'alert_history', 'monitoring_cycles',
    'monitoring_detector_runs', 'monitoring_watermarks', 'monitoring_cycle_leases',
    'monitoring_circuit_breakers', 'monitoring_config', 'monitoring_changes'
  ] loop
    execute format('alter table %I enable row level security', t);
  end loop;
end;
$$;
