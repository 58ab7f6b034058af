import type { Notification, Notifier } from "./notification.ts";
import { escapeMarkup, eventUrl, topSeverity } from "./notification.ts";
import { postJson } from "./http_send.ts";

/** Settings of the HTTP mail API (Resend-style: POST JSON, bearer key). */
export interface EmailSettings {
  url: string;
  apiKey: string;
  to: string[];
  from: string;
}

/** One email per group: subject with severity and count, plain text and HTML bodies. */
export function emailMessage(
  settings: Pick<EmailSettings, "to" | "from">,
  notification: Notification,
) {
  const { alerts, action, dashboard_url } = notification;
  const severity = topSeverity(alerts);
  const types = [...new Set(alerts.map((alert) => alert.event.event_type))].join(", ");
  const what = action === "resolve"
    ? "Resolved"
    : action === "acknowledge"
    ? "Acknowledged"
    : severity;
  const subject = `[${what}] ${alerts.length} × ${types}`.slice(0, 200);
  const lines = alerts.map(({ event, reason }) =>
    `#${event.event_id} [${event.severity}] ${event.title}${
      reason === "false_positive" ? " (false positive)" : ""
    } ${eventUrl(dashboard_url, event.event_id)}`
  );
  return {
    from: settings.from,
    to: settings.to,
    subject,
    text: `${subject}\n\n${lines.join("\n")}\n\nDashboard: ${dashboard_url}\n`,
    html: `<h2>${escapeMarkup(subject)}</h2><ul>${
      alerts.map(({ event }) =>
        `<li><a href="${
          escapeMarkup(eventUrl(dashboard_url, event.event_id))
        }">#${event.event_id}</a> [${event.severity}] ${escapeMarkup(event.title)}</li>`
      ).join("")
    }</ul>`,
  };
}

/** Email through an HTTP mail API; the delivery id is the Idempotency-Key. */
export function emailNotifier(settings: EmailSettings): Notifier {
  return {
    name: "email",
    grouped: true,
    actions: ["trigger", "resolve"],
    send: (notification, signal) =>
      postJson(settings.url, JSON.stringify(emailMessage(settings, notification)), {
        authorization: `Bearer ${settings.apiKey}`,
        "idempotency-key": notification.delivery_id,
      }, signal),
  };
}
