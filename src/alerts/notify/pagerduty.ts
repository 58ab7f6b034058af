import type { Notification, Notifier, OutboxAlert } from "./notification.ts";
import { eventUrl } from "./notification.ts";
import { postJson } from "./http_send.ts";

/** The documented enqueue URL, used when PAGERDUTY_EVENTS_URL is unset. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** Our severities in PagerDuty's vocabulary. */
export const PAGERDUTY_SEVERITY = {
  CRITICAL: "critical",
  HIGH: "error",
  MEDIUM: "warning",
  LOW: "info",
} as const;

/**
 * Renders one PagerDuty Events API v2 event. Triggers carry the payload
 * (summary up to 1024 characters, source, severity, timestamp, component, group,
 * class, custom_details with the event's context) and a dashboard link;
 * acknowledge and resolve carry only routing_key, event_action and the same
 * dedup_key, as the API expects.
 */
export function pagerDutyEvent(
  routingKey: string,
  alert: OutboxAlert,
  action: Notification["action"],
  dashboardUrl: string,
) {
  const { event } = alert;
  if (action !== "trigger") {
    return { routing_key: routingKey, event_action: action, dedup_key: alert.dedup_key };
  }
  return {
    routing_key: routingKey,
    event_action: "trigger" as const,
    dedup_key: alert.dedup_key,
    payload: {
      summary: `[${event.severity}] ${event.title}`.slice(0, 1024),
      source: `monitoring/${event.pack}`,
      severity: PAGERDUTY_SEVERITY[event.severity],
      timestamp: event.detection_timestamp,
      component: event.detector,
      group: event.pack,
      class: event.event_type,
      custom_details: {
        event_id: event.event_id,
        status: event.status,
        reason: alert.reason,
        occurrence_count: event.occurrence_count,
        occurred_at: event.occurred_at,
        card_id: event.card_id,
        entity_type: event.entity_type,
        entity_id: event.entity_id,
        transaction_id: event.transaction_id,
        context: event.context,
      },
    },
    links: [{ href: eventUrl(dashboardUrl, event.event_id), text: `Event #${event.event_id}` }],
  };
}

/**
 * PagerDuty Events API v2: one event per alert (PagerDuty groups by dedup_key
 * itself); 202 is accepted, 400 is never retried, 429 and 5xx are.
 */
export function pagerDutyNotifier(routingKey: string, eventsUrl = PAGERDUTY_EVENTS_URL): Notifier {
  return {
    name: "pagerduty",
    grouped: false,
    actions: ["trigger", "acknowledge", "resolve"],
    async send(notification, signal) {
      // Ungrouped: a delivery carries one alert, but be correct if it ever carries more.
      for (const alert of notification.alerts) {
        const body = pagerDutyEvent(
          routingKey,
          alert,
          notification.action,
          notification.dashboard_url,
        );
        const result = await postJson(eventsUrl, JSON.stringify(body), {}, signal);
        if (!result.ok) return result;
      }
      return { ok: true, status: 202 };
    },
  };
}
