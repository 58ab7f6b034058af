import type { Tx } from "../../db/client.ts";
import type { AlertsSettings, ChannelName } from "../alert_config.ts";

/**
 * Re-notifies unacknowledged events: for every OPEN event of an escalated
 * severity whose latest trigger on a channel was sent at least `every_minutes`
 * ago, writes an `escalation` trigger on that same channel, due now. Acknowledged
 * or resolved events are no longer OPEN and so stop escalating; a pending row
 * for the event and channel (or a concurrent sender) makes the insert a no-op.
 *
 * @returns the number of escalations written.
 */
export async function enqueueEscalations(
  sql: Tx,
  settings: AlertsSettings,
  channels: readonly ChannelName[],
  now: Date,
): Promise<number> {
  const { every_minutes, severities } = settings.escalation;
  if (every_minutes === 0 || severities.length === 0 || channels.length === 0) return 0;
  const result = await sql`
    with latest as (
      select distinct on (h.event_id, h.channel) h.event_id, h.channel, h.status, h.sent_at,
        h.dedup_key, h.group_key, h.labels, h.payload, e.occurrence_count
      from alert_history h
      join monitoring_events e on e.event_id = h.event_id
      where e.status = 'OPEN' and e.severity = any(${severities}::text[])
        and h.action = 'trigger' and h.channel = any(${channels}::text[])
        and h.status in ('pending', 'sent')
      order by h.event_id, h.channel, h.created_at desc, h.alert_id desc
    )
    insert into alert_history (
      event_id, channel, action, reason, dedup_key, group_key, labels, payload,
      created_at, updated_at, next_attempt_at)
    select event_id, channel, 'trigger', 'escalation', dedup_key, group_key, labels,
      jsonb_set(payload, '{event,occurrence_count}', to_jsonb(occurrence_count)),
      ${now}, ${now}, ${now}
    from latest
    where status = 'sent'
      and sent_at <= ${now}::timestamptz - make_interval(mins => ${every_minutes})
    on conflict (event_id, channel, action) where status = 'pending' do nothing`;
  return result.count;
}
