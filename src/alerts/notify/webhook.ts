import { createHmac } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Notification, Notifier } from "./notification.ts";
import { eventUrl, topSeverity } from "./notification.ts";
import { postJson } from "./http_send.ts";

/**
 * The HMAC key of a Standard Webhooks secret: `whsec_<base64>` is base64-decoded
 * as the spec serialises it; any other value is used as its UTF-8 bytes.
 *
 * @throws {Error} when a `whsec_` secret does not decode to any bytes.
 */
export function webhookKey(secret: string): Uint8Array {
  if (!secret.startsWith("whsec_")) return new TextEncoder().encode(secret);
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  if (key.length === 0) throw new Error("Cannot use ALERT_WEBHOOK_SECRET: whsec_ secret is empty");
  return new Uint8Array(key);
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the Standard Webhooks signature. */
export function signWebhook(key: Uint8Array, id: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return `v1,${mac}`;
}

const TYPE = {
  trigger: "alert.triggered",
  acknowledge: "alert.acknowledged",
  resolve: "alert.resolved",
} as const;

/** The JSON body of a webhook notification: `type`, `timestamp`, `data` with every alert. */
export function webhookBody(notification: Notification, sentAt: Date) {
  return {
    type: TYPE[notification.action],
    timestamp: sentAt.toISOString(),
    data: {
      delivery_id: notification.delivery_id,
      group_key: notification.group_key,
      action: notification.action,
      severity: topSeverity(notification.alerts),
      count: notification.alerts.length,
      alerts: notification.alerts.map(({ event, ...alert }) => ({
        event_id: event.event_id,
        dedup_key: alert.dedup_key,
        reason: alert.reason,
        actor: alert.actor,
        labels: alert.labels,
        title: event.title,
        severity: event.severity,
        status: event.status,
        occurrence_count: event.occurrence_count,
        occurred_at: event.occurred_at,
        detection_timestamp: event.detection_timestamp,
        resolution_notes: event.resolution_notes,
        context: event.context,
        url: eventUrl(notification.dashboard_url, event.event_id),
      })),
    },
  };
}

/**
 * Generic webhook signed per Standard Webhooks: `webhook-id` is the delivery id
 * (the same on every retry, so receivers can drop duplicates),
 * `webhook-timestamp` the send time in Unix seconds, `webhook-signature` the
 * HMAC over both and the exact body bytes.
 */
export function webhookNotifier(url: string, secret: string): Notifier {
  const key = webhookKey(secret);
  return {
    name: "webhook",
    grouped: true,
    actions: ["trigger", "acknowledge", "resolve"],
    send(notification, signal) {
      const sentAt = new Date();
      const timestamp = Math.floor(sentAt.getTime() / 1000);
      const body = JSON.stringify(webhookBody(notification, sentAt));
      return postJson(url, body, {
        "webhook-id": notification.delivery_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(key, notification.delivery_id, timestamp, body),
      }, signal);
    },
  };
}
