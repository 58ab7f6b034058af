-- Alert pipeline: turns alert_history into a durable outbox (what each row
-- announces, which group it is batched with, which delivery carries it, what
-- muted it), adds silences, and keeps per-channel pacing so every isolate
-- respects a webhook's rate limit. Notification state lives here, in the same
-- transaction as the event, rather than in a process that can die.

alter table alert_history
  add column if not exists action text not null default 'trigger'
    check (action in ('trigger', 'acknowledge', 'resolve')),
  -- new, repeat, escalation, acknowledged, resolved, false_positive
  add column if not exists reason text not null default 'new',
  add column if not exists group_key text not null default '',
  -- Assigned when a sender first claims the row; every retry reuses it, so the
  -- receiver sees one idempotency key (webhook-id, Idempotency-Key) per message.
  add column if not exists delivery_id text,
  add column if not exists labels jsonb not null default '{}'::jsonb,
  -- The silence or inhibiting event that muted a `suppressed` row.
  add column if not exists muted_by jsonb,
  add column if not exists last_status_code int,
  add column if not exists updated_at timestamptz not null default now();

-- At most one undelivered notification per event, channel and action: a repeat
-- or escalation that finds one still pending is already covered by it.
create unique index if not exists alert_history_one_pending_uq
  on alert_history (event_id, channel, action) where status = 'pending';
-- group_interval: when did this group last go out on this channel.
create index if not exists alert_history_group_sent_idx
  on alert_history (channel, group_key, sent_at desc) where status = 'sent';
-- repeat_interval and escalation: the last notification of an event on a channel.
create index if not exists alert_history_event_channel_idx
  on alert_history (event_id, channel, action, created_at desc);
-- /status: failures per channel.
create index if not exists alert_history_failed_idx
  on alert_history (channel) where status = 'failed';

create table if not exists alert_silences (
  silence_id bigint generated always as identity primary key,
  -- Alertmanager-style matcher strings: label=value, label!=value, label=~re, label!~re.
  matchers jsonb not null check (jsonb_typeof(matchers) = 'array' and jsonb_array_length(matchers) > 0),
  starts_at timestamptz not null default now(),
  ends_at timestamptz not null,
  created_by text not null,
  comment text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at > starts_at)
);
create index if not exists alert_silences_active_idx on alert_silences (ends_at, starts_at);

-- Per-channel send pacing (Slack allows about one message a second per webhook):
-- each send reserves the next slot with one UPDATE, whatever isolate it runs in.
create table if not exists alert_channel_state (
  channel text primary key,
  next_send_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table alert_silences enable row level security;
alter table alert_channel_state enable row level security;
