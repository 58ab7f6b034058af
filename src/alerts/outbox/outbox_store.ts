import type { Tx } from "../../db/client.ts";
import type { ChannelName } from "../alert_config.ts";
import type { EventSnapshot, OutboxRowFields } from "../notify/notification.ts";

/** An outbox row a sender holds the lease on. */
export interface ClaimedRow extends OutboxRowFields {
  alert_id: number;
  delivery_id: string;
  payload: { event: EventSnapshot; actor: string | null };
  attempts: number;
}

/** Bounds one claim when a group is huge; the rest goes out in the next message. */
const MAX_ROWS_PER_GROUP = 20;

/**
 * Claims due rows of the given channels, in one short statement: locks up to
 * `limit` due pending rows, skipping rows another sender has locked (so
 * concurrent senders share the work), then every due row of their groups (so a
 * group is not split across two messages); counts the attempt, pushes
 * `next_attempt_at` out by the lease so no other sender takes them while this
 * one sends, and gives each new group its delivery id
 * (`msg_<channel>_<first alert id>_<claim tag>`). Once a row may have been sent
 * it keeps that id: a sender that dies after sending leaves the row to be
 * claimed again when the lease ends, and the retry carries the same id to the
 * receiver.
 */
export async function claimDueRows(
  sql: Tx,
  options: { channels: readonly ChannelName[]; now: Date; limit: number; leaseSeconds: number },
): Promise<ClaimedRow[]> {
  if (options.channels.length === 0) return [];
  // Unique per claim: a row given back before its first send (a resolve waiting
  // for its trigger) must never reuse the id of a message that already went out.
  const claimTag = crypto.randomUUID().slice(0, 8);
  return await sql<ClaimedRow[]>`
    with seeds as (
      select channel, group_key, action from alert_history
      where status = 'pending' and next_attempt_at <= ${options.now}
        and channel = any(${options.channels}::text[])
      order by next_attempt_at, alert_id
      limit ${options.limit}
      for update skip locked
    ), due as (
      select h.alert_id from alert_history h
      join (select distinct channel, group_key, action from seeds) g
        using (channel, group_key, action)
      where h.status = 'pending' and h.next_attempt_at <= ${options.now}
      order by h.next_attempt_at, h.alert_id
      limit ${options.limit * MAX_ROWS_PER_GROUP}
      for update of h skip locked
    ), assigned as (
      select h.alert_id, coalesce(h.delivery_id,
        'msg_' || h.channel || '_' || min(h.alert_id) over (
          partition by h.channel, h.group_key, h.action, h.delivery_id) || '_' || ${claimTag})
        as delivery_id
      from alert_history h join due using (alert_id)
    )
    update alert_history h set
      attempts = h.attempts + 1,
      next_attempt_at = ${options.now}::timestamptz + make_interval(secs => ${options.leaseSeconds}),
      delivery_id = a.delivery_id,
      updated_at = ${options.now}
    from assigned a
    where h.alert_id = a.alert_id
    returning h.alert_id, h.event_id, h.channel, h.action, h.reason, h.dedup_key, h.group_key,
      h.delivery_id, h.labels, h.payload, h.attempts`;
}

/** Marks the rows of one delivery sent, unless they are no longer this delivery's. */
export async function markSent(
  sql: Tx,
  ids: readonly number[],
  deliveryId: string,
  now: Date,
  status: number,
): Promise<number> {
  const result = await sql`
    update alert_history set status = 'sent', sent_at = ${now}, last_error = null,
      last_status_code = ${status}, updated_at = ${now}
    where alert_id = any(${ids}::bigint[]) and delivery_id = ${deliveryId} and status = 'pending'`;
  return result.count;
}

/**
 * Records a failed attempt: rows wait until `retryAt`, or become `failed` when
 * the failure is permanent or they have used `maxAttempts`.
 */
export async function markAttemptFailed(
  sql: Tx,
  ids: readonly number[],
  options: {
    error: string;
    status?: number;
    permanent: boolean;
    retryAt: Date;
    maxAttempts: number;
    now: Date;
  },
): Promise<{ failed: number; retrying: number }> {
  const rows = await sql<{ status: string }[]>`
    update alert_history set
      status = case when ${options.permanent} or attempts >= ${options.maxAttempts}
        then 'failed' else 'pending' end,
      next_attempt_at = ${options.retryAt},
      last_error = ${options.error.slice(0, 1000)},
      last_status_code = ${options.status ?? null},
      updated_at = ${options.now}
    where alert_id = any(${ids}::bigint[]) and status = 'pending'
    returning status`;
  const failed = rows.filter((row) => row.status === "failed").length;
  return { failed, retrying: rows.length - failed };
}

/** Records rows as muted, with what muted them. */
export async function markSuppressed(
  sql: Tx,
  ids: readonly number[],
  mutedBy: Record<string, unknown>,
  now: Date,
): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await sql`
    update alert_history set status = 'suppressed', muted_by = ${sql.json(mutedBy as never)},
      last_error = null, updated_at = ${now}
    where alert_id = any(${ids}::bigint[]) and status = 'pending'`;
  return result.count;
}

/**
 * Gives claimed rows back without counting the attempt (breaker opened, budget
 * spent, or a resolve waiting for its trigger). `regroup` drops the delivery id
 * so the rows can join a later batch; only for rows that were never sent.
 */
export async function releaseRows(
  sql: Tx,
  ids: readonly number[],
  options: { at: Date; now: Date; regroup?: boolean },
): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    update alert_history set attempts = greatest(attempts - 1, 0), next_attempt_at = ${options.at},
      delivery_id = case when ${options.regroup ?? false} and attempts <= 1 then null
        else delivery_id end,
      updated_at = ${options.now}
    where alert_id = any(${ids}::bigint[]) and status = 'pending'`;
}

/** For resolves and acknowledges: how each event's trigger fared on each channel. */
export async function triggerStates(
  sql: Tx,
  rows: readonly Pick<ClaimedRow, "event_id" | "channel">[],
): Promise<Map<string, "sent" | "pending" | "none">> {
  const states = new Map<string, "sent" | "pending" | "none">();
  if (rows.length === 0) return states;
  const found = await sql<{ event_id: number; channel: string; sent: boolean; pending: boolean }[]>`
    select event_id, channel, bool_or(status = 'sent') as sent, bool_or(status = 'pending') as pending
    from alert_history
    where action = 'trigger'
      and (event_id, channel) in (
        select * from unnest(${rows.map((row) => row.event_id)}::bigint[],
          ${rows.map((row) => row.channel)}::text[]))
    group by event_id, channel`;
  for (const row of found) {
    states.set(
      `${row.event_id}|${row.channel}`,
      row.sent ? "sent" : row.pending ? "pending" : "none",
    );
  }
  return states;
}

/** Live status of events, for dropping escalations of events acknowledged meanwhile. */
export async function eventStatuses(
  sql: Tx,
  eventIds: readonly number[],
): Promise<Map<number, string>> {
  if (eventIds.length === 0) return new Map();
  const rows = await sql<{ event_id: number; status: string }[]>`
    select event_id, status from monitoring_events where event_id = any(${eventIds}::bigint[])`;
  return new Map(rows.map((row) => [Number(row.event_id), row.status]));
}

/**
 * Reserves the next send slot of a channel whose receiver limits the rate
 * (Slack: about one message a second per webhook). The UPDATE serialises
 * concurrent senders in any isolate; the caller sleeps until the returned time.
 */
export async function reserveSendSlot(
  sql: Tx,
  channel: string,
  minIntervalMs: number,
): Promise<Date> {
  const [row] = await sql<{ slot: Date }[]>`
    insert into alert_channel_state as s (channel, next_send_at, updated_at)
    values (${channel}, clock_timestamp() + make_interval(secs => ${minIntervalMs / 1000}), now())
    on conflict (channel) do update set
      next_send_at = greatest(s.next_send_at, clock_timestamp()) + make_interval(secs => ${
    minIntervalMs / 1000
  }),
      updated_at = now()
    returning next_send_at - make_interval(secs => ${minIntervalMs / 1000}) as slot`;
  return row.slot;
}
