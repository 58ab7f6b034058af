import type { Notification, Notifier, OutboxAlert } from "./notification.ts";
import { escapeMarkup, eventUrl, topSeverity } from "./notification.ts";
import { postJson } from "./http_send.ts";

const ICON = {
  CRITICAL: ":red_circle:",
  HIGH: ":large_orange_circle:",
  MEDIUM: ":large_yellow_circle:",
  LOW: ":white_circle:",
};
/** Lines listed in one message; the rest are counted. Slack caps a section at 3000 characters. */
const MAX_LINES = 15;

function headline(notification: Notification): string {
  const { alerts, action } = notification;
  const severity = topSeverity(alerts);
  const types = [...new Set(alerts.map((alert) => alert.event.event_type))].join(", ");
  const count = alerts.length === 1 ? "" : `${alerts.length} × `;
  if (action === "resolve") {
    const falsePositives = alerts.filter((alert) => alert.reason === "false_positive").length;
    const label = falsePositives === alerts.length ? "False positive" : "Resolved";
    return `:white_check_mark: ${label}: ${count}${types}`;
  }
  if (action === "acknowledge") return `:eyes: Acknowledged: ${count}${types}`;
  const escalated = alerts.some((alert) => alert.reason === "escalation")
    ? " (unacknowledged)"
    : "";
  return `${ICON[severity]} ${severity}: ${count}${types}${escalated}`;
}

function subject(alert: OutboxAlert): string {
  const { event } = alert;
  if (event.card_id) return `card \`${event.card_id}\``;
  if (event.entity_id) return `${event.entity_type ?? "entity"} \`${event.entity_id}\``;
  if (event.transaction_id) return `transaction \`${event.transaction_id}\``;
  return event.detector;
}

function line(alert: OutboxAlert, dashboardUrl: string): string {
  const { event } = alert;
  const repeats = event.occurrence_count > 1 ? ` (seen ${event.occurrence_count}×)` : "";
  const note = alert.reason === "false_positive"
    ? " — marked a false positive"
    : event.resolution_notes && alert.reason === "resolved"
    ? ` — ${event.resolution_notes}`
    : "";
  const by = alert.actor ? ` by ${alert.actor}` : "";
  const title = escapeMarkup(event.title);
  return `• <${eventUrl(dashboardUrl, event.event_id)}|#${event.event_id}> ${title} — ${
    subject(alert)
  }${repeats}${note}${by}`;
}

/**
 * Renders a Slack incoming-webhook message: `text` (the notification fallback)
 * and blocks with a header (severity and what), fields (severity, pack, detector,
 * count), one line per alert with its subject and dashboard link, and a context
 * line linking the dashboard.
 */
export function slackMessage(notification: Notification) {
  const { alerts, dashboard_url } = notification;
  const title = headline(notification);
  const packs = [...new Set(alerts.map((alert) => alert.event.pack))].join(", ");
  const detectors = [...new Set(alerts.map((alert) => alert.event.detector))].join(", ");
  const shown = alerts.slice(0, MAX_LINES).map((alert) => line(alert, dashboard_url));
  if (alerts.length > MAX_LINES) shown.push(`…and ${alerts.length - MAX_LINES} more`);
  return {
    text: title,
    blocks: [
      { type: "header", text: { type: "plain_text", text: title.slice(0, 150), emoji: true } },
      {
        type: "section",
        fields: [
          { type: "mrkdwn", text: `*Severity*\n${topSeverity(alerts)}` },
          { type: "mrkdwn", text: `*Count*\n${alerts.length}` },
          { type: "mrkdwn", text: `*Pack*\n${packs}` },
          { type: "mrkdwn", text: `*Detector*\n${detectors}` },
        ],
      },
      { type: "section", text: { type: "mrkdwn", text: shown.join("\n").slice(0, 3000) } },
      {
        type: "context",
        elements: [{ type: "mrkdwn", text: `<${dashboard_url}|Open the monitoring dashboard>` }],
      },
    ],
  };
}

/** Slack incoming webhook: grouped messages for triggers and resolutions; 200 `ok` is success. */
export function slackNotifier(webhookUrl: string): Notifier {
  return {
    name: "slack",
    grouped: true,
    actions: ["trigger", "resolve"],
    send: (notification, signal) =>
      postJson(webhookUrl, JSON.stringify(slackMessage(notification)), {}, signal),
  };
}
