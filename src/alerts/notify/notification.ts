import type { MonitoringEvent } from "../../events/event_schema.ts";
import type { ChannelName } from "../alert_config.ts";
import type { Labels } from "../labels.ts";

/** What a notification announces: PagerDuty's event actions, which every channel shares. */
export type AlertAction = "trigger" | "acknowledge" | "resolve";

/** Why a row exists: a new event, a repeat, an escalation, or a status change. */
export type AlertReason =
  | "new"
  | "repeat"
  | "escalation"
  | "acknowledged"
  | "resolved"
  | "false_positive";

/** The event as it was when the notification was written (stored in `payload.event`). */
export interface EventSnapshot {
  event_id: number;
  title: string;
  severity: MonitoringEvent["severity"];
  status: MonitoringEvent["status"];
  pack: string;
  detector: string;
  event_type: string;
  fingerprint: string;
  card_id: string | null;
  entity_type: string | null;
  entity_id: string | null;
  transaction_id: string | null;
  occurrence_count: number;
  occurred_at: string;
  detection_timestamp: string;
  context: Record<string, unknown>;
  resolution_notes: string | null;
}

/** Takes the part of an event a notification carries. */
export function snapshotOf(event: MonitoringEvent): EventSnapshot {
  const iso = (value: Date | string) => new Date(value).toISOString();
  return {
    event_id: Number(event.event_id),
    title: event.title,
    severity: event.severity,
    status: event.status,
    pack: event.pack,
    detector: event.detection_algorithm,
    event_type: event.event_type,
    fingerprint: event.fingerprint,
    card_id: event.card_id,
    entity_type: event.entity_type,
    entity_id: event.entity_id,
    transaction_id: event.transaction_id,
    occurrence_count: event.occurrence_count,
    occurred_at: iso(event.occurred_at),
    detection_timestamp: iso(event.detection_timestamp),
    context: event.context,
    resolution_notes: event.resolution_notes,
  };
}

/** What every outbox row says: which event, on which channel, announcing what, in which group. */
export interface OutboxRowFields {
  event_id: number;
  channel: ChannelName;
  action: AlertAction;
  reason: AlertReason;
  dedup_key: string;
  group_key: string;
  labels: Labels;
}

/** Escapes `&`, `<` and `>`, which both HTML and Slack's mrkdwn treat as markup. */
export function escapeMarkup(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** One outbox row inside a notification. */
export interface OutboxAlert {
  alert_id: number;
  event_id: number;
  dedup_key: string;
  reason: AlertReason;
  labels: Labels;
  event: EventSnapshot;
  /** Who changed the event's status, for acknowledge and operator resolves. */
  actor: string | null;
}

/** One message to one channel: the rows a delivery id carries. */
export interface Notification {
  /** Stable across retries: the idempotency key receivers see. */
  delivery_id: string;
  channel: ChannelName;
  action: AlertAction;
  group_key: string;
  alerts: OutboxAlert[];
  dashboard_url: string;
}

/** How a send ended; a notifier says whether a failure is worth retrying. */
export type SendResult =
  | { ok: true; status: number }
  | {
    ok: false;
    retryable: boolean;
    status?: number;
    /** From a 429's Retry-After. */
    retryAfterMs?: number;
    error: string;
  };

/** A channel: renders a notification into its wire format and sends it. */
export interface Notifier {
  name: ChannelName;
  /** Whether alerts are batched per group (Slack, email, webhook) or sent one by one (PagerDuty). */
  grouped: boolean;
  /** The actions the channel has a message for. */
  actions: readonly AlertAction[];
  send(notification: Notification, signal: AbortSignal): Promise<SendResult>;
}

/** The highest severity among a notification's alerts. */
export function topSeverity(alerts: readonly OutboxAlert[]): EventSnapshot["severity"] {
  const order = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
  return order.find((severity) => alerts.some((alert) => alert.event.severity === severity)) ??
    "LOW";
}

/** A link to one event on the dashboard. */
export function eventUrl(dashboardUrl: string, eventId: number): string {
  return new URL(`#/events/${eventId}`, dashboardUrl).toString();
}
