import { createHash } from "node:crypto";
import type { Tx } from "../../db/client.ts";
import type { EventChange, EventStatus, MonitoringEvent } from "../../events/event_schema.ts";
import type { AlertsSettings, ChannelName } from "../alert_config.ts";
import { alertLabels } from "../labels.ts";
import { resolveRoutes } from "../route/route_tree.ts";
import type {
  AlertAction,
  AlertReason,
  Notifier,
  OutboxRowFields,
} from "../notify/notification.ts";
import { snapshotOf } from "../notify/notification.ts";

/** One outbox row about to be written, with the timings of the route that produced it. */
export interface PlannedNotification extends OutboxRowFields {
  payload: Record<string, unknown>;
  group_wait: number;
  group_interval: number;
  repeat_interval: number;
}

/** What planning needs: the validated settings and the channels that can send. */
export interface PlanContext {
  settings: AlertsSettings;
  channels: ReadonlyMap<ChannelName, Notifier>;
}

/**
 * PagerDuty's dedup key for an event: its fingerprint (unique among live events),
 * hashed when it would exceed PagerDuty's 255 characters.
 */
export function dedupKeyOf(fingerprint: string): string {
  const key = `monitoring:${fingerprint}`;
  if (key.length <= 255) return key;
  return `monitoring:sha256:${createHash("sha256").update(fingerprint).digest("hex")}`;
}

/**
 * Plans the notifications one event change needs: routes the event's labels,
 * then one row per receiving channel that is enabled and has a message for the
 * action (first route wins when `continue` reaches a channel twice). Grouped
 * channels share a group key per route and `group_by` values; PagerDuty is keyed
 * per event and waits for nothing.
 */
export function planNotifications(
  event: MonitoringEvent,
  action: AlertAction,
  reason: AlertReason,
  actor: string | null,
  context: PlanContext,
): PlannedNotification[] {
  const labels = alertLabels(event);
  const planned = new Map<ChannelName, PlannedNotification>();
  for (const match of resolveRoutes(context.settings.route, labels)) {
    for (const channel of match.receivers) {
      const notifier = context.channels.get(channel);
      if (!notifier || !notifier.actions.includes(action) || planned.has(channel)) continue;
      const groupValues = notifier.grouped
        ? match.group_by.map((name) => `${name}=${labels[name] ?? ""}`).join(",")
        : `event=${event.event_id}`;
      planned.set(channel, {
        event_id: Number(event.event_id),
        channel,
        action,
        reason,
        dedup_key: dedupKeyOf(event.fingerprint),
        group_key: `${match.path}|${channel}|${groupValues}`,
        labels,
        payload: { event: snapshotOf(event), actor },
        group_wait: notifier.grouped ? match.group_wait_seconds : 0,
        group_interval: notifier.grouped ? match.group_interval_seconds : 0,
        repeat_interval: match.repeat_interval_seconds,
      });
    }
  }
  return [...planned.values()];
}

/**
 * Writes planned notifications into the outbox, in the caller's transaction.
 *
 * When each row becomes due follows Alertmanager's group timers, kept in the
 * table rather than in memory: a row joins its group's pending batch; else, if
 * the group went out less than `group_interval` ago, it waits for that interval;
 * else it waits `group_wait`. A repeat is dropped when the event was notified on
 * that channel within `repeat_interval` (or muted within `group_interval`, so a
 * silenced event that repeats every cycle does not pile up rows). A resolve or
 * acknowledge is written only for channels that were (or are about to be)
 * told about the trigger. At most one pending row per event, channel and action.
 *
 * @returns the number of rows written.
 */
export async function writeNotifications(
  tx: Tx,
  rows: readonly PlannedNotification[],
  now: Date,
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await tx`
    insert into alert_history (
      event_id, channel, action, reason, dedup_key, group_key, labels, payload,
      created_at, updated_at, next_attempt_at)
    select r.event_id, r.channel, r.action, r.reason, r.dedup_key, r.group_key, r.labels,
      r.payload, ${now}, ${now},
      coalesce(
        (select min(p.next_attempt_at) from alert_history p
          where p.status = 'pending' and p.delivery_id is null and p.channel = r.channel
            and p.group_key = r.group_key and p.action = r.action),
        (select max(s.sent_at) + make_interval(secs => r.group_interval) from alert_history s
          where s.status = 'sent' and s.channel = r.channel and s.group_key = r.group_key
            and s.sent_at > ${now}::timestamptz - make_interval(secs => r.group_interval)),
        ${now}::timestamptz + make_interval(secs => r.group_wait))
    from jsonb_to_recordset(${tx.json(rows as never)}::jsonb) as r(
      event_id bigint, channel text, action text, reason text, dedup_key text, group_key text,
      labels jsonb, payload jsonb, group_wait int, group_interval int, repeat_interval int)
    where (r.reason <> 'repeat' or not exists (
        select 1 from alert_history x
        where x.event_id = r.event_id and x.channel = r.channel and x.action = 'trigger'
          and ((x.status in ('pending', 'sent')
              and x.created_at > ${now}::timestamptz - make_interval(secs => r.repeat_interval))
            or (x.status = 'suppressed'
              and x.created_at > ${now}::timestamptz - make_interval(secs => greatest(r.group_interval, 300))))))
      and (r.action = 'trigger' or exists (
        select 1 from alert_history t
        where t.event_id = r.event_id and t.channel = r.channel and t.action = 'trigger'
          and t.status in ('pending', 'sent')))
    on conflict (event_id, channel, action) where status = 'pending' do nothing`;
  return result.count;
}

/**
 * The alert outbox side of a detector's transaction: new events trigger,
 * repeated findings may repeat (see {@linkcode writeNotifications}), resolved
 * events send resolve notices when `send_resolved` is on.
 */
export async function enqueueEventChanges(
  tx: Tx,
  changes: readonly EventChange[],
  context: PlanContext & { now: Date },
): Promise<number> {
  const rows: PlannedNotification[] = [];
  for (const change of changes) {
    if (change.kind === "opened") {
      rows.push(...planNotifications(change.event, "trigger", "new", null, context));
    } else if (change.kind === "repeated") {
      rows.push(...planNotifications(change.event, "trigger", "repeat", null, context));
    } else if (context.settings.send_resolved) {
      rows.push(...planNotifications(change.event, "resolve", "resolved", null, context));
    }
  }
  return await writeNotifications(tx, rows, context.now);
}

/**
 * What an operator's status change announces: ACKNOWLEDGED -> acknowledge (and
 * escalation stops, since it only re-notifies OPEN events); RESOLVED or
 * FALSE_POSITIVE -> resolve, saying which. Re-opening sends nothing: PagerDuty
 * has no "unacknowledge", and the next finding repeats the alert.
 */
export function statusChangeAction(
  previous: EventStatus,
  next: EventStatus,
): { action: AlertAction; reason: AlertReason } | null {
  if (previous === next) return null;
  const live = previous === "OPEN" || previous === "ACKNOWLEDGED";
  if (next === "ACKNOWLEDGED" && previous === "OPEN") {
    return { action: "acknowledge", reason: "acknowledged" };
  }
  if (next === "RESOLVED" && live) return { action: "resolve", reason: "resolved" };
  if (next === "FALSE_POSITIVE" && live) return { action: "resolve", reason: "false_positive" };
  return null;
}
