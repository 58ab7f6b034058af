-- /monitoring/status asks each channel for its last successful send; this index
-- answers that with one index probe per channel instead of a scan of the outbox.
create index if not exists alert_history_channel_sent_idx
  on alert_history (channel, sent_at desc) where status = 'sent';
