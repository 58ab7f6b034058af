-- Dashboard API: who moved an event through OPEN -> ACKNOWLEDGED -> RESOLVED or
-- FALSE_POSITIVE, and when (mean time to acknowledge is computed from it), plus the
-- indexes the events list filters need to stay on a keyset scan at a million rows.

create table if not exists monitoring_event_status_changes (
  change_id bigint generated always as identity primary key,
  event_id bigint not null references monitoring_events (event_id) on delete cascade,
  from_status text not null,
  to_status text not null,
  actor text not null,
  actor_kind text not null check (actor_kind in ('service', 'admin', 'cron', 'system')),
  notes text,
  changed_at timestamptz not null default now()
);
create index if not exists monitoring_event_status_changes_event_idx
  on monitoring_event_status_changes (event_id, changed_at);
alter table monitoring_event_status_changes enable row level security;

-- Filtered pages walk these in keyset order instead of sorting every match.
create index if not exists monitoring_events_status_detected_idx
  on monitoring_events (status, detection_timestamp desc, event_id desc);
create index if not exists monitoring_events_severity_detected_idx
  on monitoring_events (severity, detection_timestamp desc, event_id desc);
create index if not exists monitoring_events_detector_detected_idx
  on monitoring_events (detection_algorithm, detection_timestamp desc, event_id desc);
