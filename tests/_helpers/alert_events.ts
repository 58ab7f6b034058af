import type { Sql } from "../../src/db/client.ts";
import type { EventChange, MonitoringEvent } from "../../src/events/event_schema.ts";
import { loadRuntimeConfig } from "../../src/config/runtime_config.ts";
import { alertsConfig } from "../../src/alerts/alert_config.ts";
import { channelsFromEnv } from "../../src/alerts/notify/channels.ts";
import { enqueueEventChanges } from "../../src/alerts/dispatch/enqueue.ts";

/** An event to insert; everything but severity has a default. */
export interface EventInput {
  severity: MonitoringEvent["severity"];
  detector?: string;
  pack?: string;
  event_type?: string;
  card_id?: string;
  entity_type?: string;
  entity_id?: string;
  title?: string;
  fingerprint?: string;
}

/** Inserts a live event as a detector would have written it. */
export async function insertEvent(sql: Sql, input: EventInput): Promise<MonitoringEvent> {
  const detector = input.detector ?? "test_detector";
  const [event] = await sql<MonitoringEvent[]>`
    insert into monitoring_events (event_type, severity, detection_algorithm, pack, title, card_id,
      entity_type, entity_id, fingerprint, context)
    values (${input.event_type ?? "test_event"}, ${input.severity}, ${detector},
      ${input.pack ?? "festival"}, ${input.title ?? `${input.severity} on ${input.card_id ?? "-"}`},
      ${input.card_id ?? null}, ${input.entity_type ?? null}, ${input.entity_id ?? null},
      ${input.fingerprint ?? `${detector}:${crypto.randomUUID()}`}, ${sql.json({ source: "test" })})
    returning *`;
  return event;
}

/** Bumps a live event as a repeated finding does. */
export async function repeatEvent(sql: Sql, event: MonitoringEvent): Promise<MonitoringEvent> {
  const [row] = await sql<MonitoringEvent[]>`
    update monitoring_events set occurrence_count = occurrence_count + 1, last_seen_at = now()
    where event_id = ${event.event_id} returning *`;
  return row;
}

/** Resolves an event as a state detector does. */
export async function resolveEvent(sql: Sql, event: MonitoringEvent): Promise<MonitoringEvent> {
  const [row] = await sql<MonitoringEvent[]>`
    update monitoring_events set status = 'RESOLVED', resolved_at = now(),
      resolution_notes = 'Condition cleared' where event_id = ${event.event_id} returning *`;
  return row;
}

/** Writes the outbox rows of `changes` in one transaction, as the cycle hook does. */
export async function announce(
  sql: Sql,
  changes: EventChange[],
  options: { env: Record<string, string>; now: Date },
): Promise<number> {
  return await sql.begin(async (tx) => {
    const settings = (await loadRuntimeConfig(tx, [alertsConfig])).get(alertsConfig);
    const channels = channelsFromEnv(options.env).enabled;
    return await enqueueEventChanges(tx, changes, { settings, channels, now: options.now });
  });
}

/** Sets fields of the `alerts` config row (delivery limits for fast tests). */
export async function setAlertsConfig(sql: Sql, value: Record<string, unknown>): Promise<void> {
  await sql`
    insert into monitoring_config (key, value) values ('alerts', ${sql.json(value as never)})
    on conflict (key) do update set value = excluded.value`;
}

/** A clock tests move by hand. */
export function manualClock(start = new Date("2026-11-23T06:00:00Z")) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(seconds: number) {
      now += seconds * 1000;
      return new Date(now);
    },
  };
}

/** Outbox rows, oldest first. */
export async function outbox(sql: Sql) {
  return await sql<
    {
      alert_id: number;
      event_id: number;
      channel: string;
      action: string;
      reason: string;
      status: string;
      attempts: number;
      delivery_id: string | null;
      dedup_key: string;
      muted_by: Record<string, unknown> | null;
      next_attempt_at: Date;
      last_status_code: number | null;
      last_error: string | null;
    }[]
  >`
    select alert_id, event_id, channel, action, reason, status, attempts, delivery_id, dedup_key,
      muted_by, next_attempt_at, last_status_code, last_error
    from alert_history order by alert_id`;
}
