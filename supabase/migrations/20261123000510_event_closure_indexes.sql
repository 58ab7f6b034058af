-- /stats reads events closed within a window (false-positive rate, mean time to
-- resolve) and acknowledgements within a window (mean time to acknowledge). Without
-- these, each of those figures scans the whole events table: about a second at a
-- million events.

create index if not exists monitoring_events_resolved_idx
  on monitoring_events (resolved_at) where resolved_at is not null;
create index if not exists monitoring_event_status_changes_changed_idx
  on monitoring_event_status_changes (changed_at, to_status);
