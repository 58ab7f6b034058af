import type { Sql } from "../../db/client.ts";
import type { Logger } from "../../log/logger.ts";
import { createLogger, errorMessage } from "../../log/logger.ts";
import { loadRuntimeConfig } from "../../config/runtime_config.ts";
import { breakerConfig } from "../../config/core_config.ts";
import {
  acquirePermit,
  recordFailure,
  recordSuccess,
  unclosedBreakers,
} from "../../breaker/circuit_breaker.ts";
import type { BreakerSettings, BreakerState } from "../../breaker/circuit_breaker.ts";
import type { AlertsSettings, ChannelName } from "../alert_config.ts";
import { alertsConfig } from "../alert_config.ts";
import type { ChannelSet } from "../notify/channels.ts";
import { channelsFromEnv } from "../notify/channels.ts";
import type { Notification, Notifier, SendResult } from "../notify/notification.ts";
import { activeSilences, silencing } from "../silence/silences.ts";
import { findInhibitions } from "../inhibit/inhibitor.ts";
import { enqueueEscalations } from "../dispatch/escalation.ts";
import type { ClaimedRow } from "./outbox_store.ts";
import {
  claimDueRows,
  eventStatuses,
  markAttemptFailed,
  markSent,
  markSuppressed,
  releaseRows,
  reserveSendSlot,
  triggerStates,
} from "./outbox_store.ts";
import { backoffMs } from "./backoff.ts";

/** The breaker name of one channel. */
export const channelBreaker = (channel: string) => `channel:${channel}`;

/** Options for {@linkcode deliverDueAlerts}. */
export interface DeliverOptions {
  /** Where channel secrets come from (default: the process env). */
  env?: Record<string, string | undefined>;
  /** Prebuilt channels (overrides `env`). */
  channels?: ChannelSet;
  /** The pipeline's clock: what "due" and `sent_at` mean (tests move it). */
  now?: () => Date;
  log?: Logger;
  /** Settings instead of the `alerts` row (tests). */
  settings?: AlertsSettings;
  /**
   * Crash-injection seam: runs after a receiver accepted a delivery and before
   * the rows are marked sent. A throw here behaves as a sender killed mid-send.
   */
  afterSend?: (notification: Notification) => void | Promise<void>;
  random?: () => number;
}

/** What one sender run did. */
export interface DeliverySummary {
  escalated: number;
  claimed: number;
  deliveries: number;
  sent: number;
  retrying: number;
  failed: number;
  suppressed: number;
  released: number;
  channels_skipped: { channel: ChannelName; reason: string }[];
}

const ACTION_ORDER = { trigger: 0, acknowledge: 1, resolve: 2 } as const;

function toNotifications(rows: readonly ClaimedRow[], dashboardUrl: string): Notification[] {
  const byDelivery = new Map<string, Notification>();
  for (const row of rows) {
    let notification = byDelivery.get(row.delivery_id);
    if (!notification) {
      notification = {
        delivery_id: row.delivery_id,
        channel: row.channel,
        action: row.action,
        group_key: row.group_key,
        alerts: [],
        dashboard_url: dashboardUrl,
      };
      byDelivery.set(row.delivery_id, notification);
    }
    notification.alerts.push({
      alert_id: Number(row.alert_id),
      event_id: Number(row.event_id),
      dedup_key: row.dedup_key,
      reason: row.reason,
      labels: row.labels,
      event: row.payload.event,
      actor: row.payload.actor ?? null,
    });
  }
  return [...byDelivery.values()].sort((a, b) =>
    ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
    a.delivery_id.localeCompare(b.delivery_id)
  );
}

async function sendWithTimeout(notifier: Notifier, notification: Notification, timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    return await notifier.send(notification, controller.signal);
  } catch (error) {
    return { ok: false, retryable: true, error: errorMessage(error) } satisfies SendResult;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Delivers what the outbox holds that is due: the sender that runs after every
 * cycle and on its own schedule.
 *
 * A run first writes escalations, then loops within its time budget: claim a
 * small batch (see {@linkcode claimDueRows}; the claim commits before anything is
 * sent), mute what silences and inhibit rules cover (recorded `suppressed` with
 * what muted it), hold back resolves and acknowledges whose trigger has not gone
 * out yet, send each delivery with a timeout, then mark its rows. A failure is
 * retried with exponential backoff and jitter (or after a 429's Retry-After) until
 * `max_attempts`; a permanent 4xx fails at once. Each channel has a breaker
 * (`channel:<name>`) that every failure but 429 feeds; an open breaker leaves
 * that channel's rows for a later run. Slack and PagerDuty sends are paced across
 * every isolate (`*_min_interval_ms`), below what each receiver rate-limits.
 *
 * @returns counts of what happened, for the cycle summary and logs.
 */
export async function deliverDueAlerts(
  sql: Sql,
  options: DeliverOptions = {},
): Promise<DeliverySummary> {
  const clock = options.now ?? (() => new Date());
  const log = options.log ?? createLogger({ component: "alerts" });
  const random = options.random ?? Math.random;
  const started = performance.now();
  const channels = options.channels ?? channelsFromEnv(options.env ?? Deno.env.toObject());
  const summary: DeliverySummary = {
    escalated: 0,
    claimed: 0,
    deliveries: 0,
    sent: 0,
    retrying: 0,
    failed: 0,
    suppressed: 0,
    released: 0,
    channels_skipped: [],
  };
  const enabled = [...channels.enabled.keys()];
  // With no channel configured the outbox holds nothing to send: no query at all.
  if (enabled.length === 0) return summary;
  // Read side by side: every run (after each cycle) pays one round trip for both.
  const [runtime, unclosed] = await Promise.all([
    loadRuntimeConfig(sql, [alertsConfig, breakerConfig]),
    unclosedBreakers(sql, enabled.map(channelBreaker)),
  ]);
  const settings = options.settings ?? runtime.get(alertsConfig);
  const breakerSettings = runtime.get(breakerConfig);
  const { delivery } = settings;

  summary.escalated = await enqueueEscalations(sql, settings, enabled, clock());

  const open = new Set<ChannelName>();
  for (const channel of enabled) {
    // A closed breaker grants its permit without a statement; only the others are asked.
    const permit = unclosed.has(channelBreaker(channel))
      ? await acquirePermit(sql, channelBreaker(channel), breakerSettings)
      : { allowed: true, state: "closed" };
    if (permit.allowed) open.add(channel);
    else summary.channels_skipped.push({ channel, reason: `breaker ${permit.state}` });
  }

  const overBudget = () => performance.now() - started > delivery.budget_ms;
  while (open.size > 0 && !overBudget()) {
    const now = clock();
    const rows = await claimDueRows(sql, {
      channels: [...open],
      now,
      limit: delivery.batch_size,
      leaseSeconds: delivery.lease_seconds,
    });
    if (rows.length === 0) break;
    summary.claimed += rows.length;
    const live = await muteAndHold(sql, rows, settings, now, summary);
    for (const notification of toNotifications(live, settings.dashboard_url)) {
      const ids = notification.alerts.map((alert) => alert.alert_id);
      const notifier = channels.enabled.get(notification.channel)!;
      if (!open.has(notification.channel) || overBudget()) {
        await releaseRows(sql, ids, { at: clock(), now: clock() });
        summary.released += ids.length;
        continue;
      }
      if (notification.action !== "trigger") {
        // Resolve only what the channel was told: re-check after this batch's triggers went out.
        const kept = await holdUntilTriggered(sql, notification, clock(), summary);
        if (kept.length === 0) continue;
        notification.alerts = kept;
      }
      const interval = minIntervalOf(notification.channel, delivery);
      if (interval > 0) {
        const slot = await reserveSendSlot(sql, notification.channel, interval);
        const wait = slot.getTime() - Date.now();
        if (wait > 0) await sleep(wait);
      }
      summary.deliveries++;
      const result = await sendWithTimeout(notifier, notification, delivery.send_timeout_ms);
      const sentIds = notification.alerts.map((alert) => alert.alert_id);
      if (result.ok) {
        await options.afterSend?.(notification);
        summary.sent += await markSent(
          sql,
          sentIds,
          notification.delivery_id,
          clock(),
          result.status,
        );
        await recordSuccess(sql, channelBreaker(notification.channel));
        continue;
      }
      const attempt = Math.max(
        ...live.filter((row) => sentIds.includes(Number(row.alert_id)))
          .map((row) => row.attempts),
      );
      const state = await recordFailedAttempt(
        { sql, settings, breakerSettings, clock, random, log, summary },
        notification,
        result,
        attempt,
      );
      if (state === "open") {
        open.delete(notification.channel);
        summary.channels_skipped.push({ channel: notification.channel, reason: "breaker opened" });
      }
    }
  }
  if (summary.claimed > 0 || summary.escalated > 0) log.info("alerts delivered", { ...summary });
  return summary;
}

/** The gap a channel keeps between two sends; 0 sends at once. */
function minIntervalOf(channel: ChannelName, delivery: AlertsSettings["delivery"]): number {
  if (channel === "slack") return delivery.slack_min_interval_ms;
  if (channel === "pagerduty") return delivery.pagerduty_min_interval_ms;
  return 0;
}

/** What the per-delivery steps of one run share. */
interface RunContext {
  sql: Sql;
  settings: AlertsSettings;
  breakerSettings: BreakerSettings;
  clock: () => Date;
  random: () => number;
  log: Logger;
  summary: DeliverySummary;
}

/**
 * Records a failed send: the rows wait for the Retry-After of a 429 (capped) or
 * the backoff of their attempt, or fail when the answer was permanent or the
 * attempts are used up. Every failure but a 429 feeds the channel's breaker.
 *
 * @returns the breaker state afterwards ("closed" for a 429).
 */
async function recordFailedAttempt(
  run: RunContext,
  notification: Notification,
  result: Extract<SendResult, { ok: false }>,
  attempt: number,
): Promise<BreakerState> {
  const { delivery } = run.settings;
  const ids = notification.alerts.map((alert) => alert.alert_id);
  const waitMs = result.retryAfterMs !== undefined
    // At least a second, so "Retry-After: 0" cannot turn one run into a busy loop.
    ? Math.min(Math.max(result.retryAfterMs, 1000), delivery.retry_after_max_seconds * 1000)
    : backoffMs(
      attempt,
      delivery.backoff_base_seconds * 1000,
      delivery.backoff_max_seconds * 1000,
      run.random,
    );
  const failedAt = run.clock();
  const marked = await markAttemptFailed(run.sql, ids, {
    error: result.error,
    status: result.status,
    permanent: !result.retryable,
    retryAt: new Date(failedAt.getTime() + waitMs),
    maxAttempts: delivery.max_attempts,
    now: failedAt,
  });
  run.summary.failed += marked.failed;
  run.summary.retrying += marked.retrying;
  run.log.warn("alert delivery failed", {
    channel: notification.channel,
    delivery_id: notification.delivery_id,
    status: result.status,
    retryable: result.retryable,
    retry_in_ms: result.retryable ? waitMs : null,
    error: result.error,
  });
  if (result.status === 429) return "closed";
  return await recordFailure(
    run.sql,
    channelBreaker(notification.channel),
    result.error,
    run.breakerSettings,
  );
}

/**
 * Mutes claimed triggers covered by a silence or an inhibiting event, and drops
 * escalations of events that are no longer OPEN. Returns the rows still to send.
 */
async function muteAndHold(
  sql: Sql,
  rows: readonly ClaimedRow[],
  settings: AlertsSettings,
  now: Date,
  summary: DeliverySummary,
): Promise<ClaimedRow[]> {
  const triggers = rows.filter((row) => row.action === "trigger");
  if (triggers.length === 0) return [...rows];
  const muted = new Map<number, Record<string, unknown>>();
  const silences = await activeSilences(sql, now);
  for (const row of triggers) {
    const silence = silencing(silences, row.labels);
    if (silence) {
      muted.set(Number(row.alert_id), {
        kind: "silence",
        silence_id: Number(silence.silence_id),
        created_by: silence.created_by,
        comment: silence.comment,
        ends_at: silence.ends_at,
      });
    }
  }
  const inhibited = await findInhibitions(
    sql,
    settings.inhibit_rules,
    triggers.filter((row) => !muted.has(Number(row.alert_id))).map((row) => ({
      key: Number(row.alert_id),
      event_id: Number(row.event_id),
      labels: row.labels,
    })),
  );
  for (const [key, inhibition] of inhibited) muted.set(key, { kind: "inhibition", ...inhibition });
  const escalations = triggers.filter((row) => row.reason === "escalation");
  const statuses = await eventStatuses(sql, escalations.map((row) => Number(row.event_id)));
  for (const row of escalations) {
    const status = statuses.get(Number(row.event_id));
    if (status !== "OPEN" && !muted.has(Number(row.alert_id))) {
      muted.set(Number(row.alert_id), { kind: "status", status: status ?? "deleted" });
    }
  }
  const byReason = new Map<string, { ids: number[]; mutedBy: Record<string, unknown> }>();
  for (const [id, mutedBy] of muted) {
    const key = JSON.stringify(mutedBy);
    (byReason.get(key) ?? byReason.set(key, { ids: [], mutedBy }).get(key)!).ids.push(id);
  }
  for (const { ids, mutedBy } of byReason.values()) {
    summary.suppressed += await markSuppressed(sql, ids, mutedBy, now);
  }
  return rows.filter((row) => !muted.has(Number(row.alert_id)));
}

/**
 * For a resolve or acknowledge: keeps the alerts whose trigger reached this
 * channel, waits (without spending an attempt) for triggers still pending, and
 * records the rest as suppressed, since the channel never heard of them.
 */
async function holdUntilTriggered(
  sql: Sql,
  notification: Notification,
  now: Date,
  summary: DeliverySummary,
) {
  const states = await triggerStates(
    sql,
    notification.alerts.map((alert) => ({
      event_id: alert.event_id,
      channel: notification.channel,
    })),
  );
  const state = (eventId: number) => states.get(`${eventId}|${notification.channel}`) ?? "none";
  const waiting = notification.alerts.filter((alert) => state(alert.event_id) === "pending");
  const never = notification.alerts.filter((alert) => state(alert.event_id) === "none");
  await releaseRows(sql, waiting.map((alert) => alert.alert_id), {
    at: new Date(now.getTime() + 5_000),
    now,
    regroup: true,
  });
  summary.released += waiting.length;
  summary.suppressed += await markSuppressed(
    sql,
    never.map((alert) => alert.alert_id),
    { kind: "not_notified", reason: "the channel was never sent this event's trigger" },
    now,
  );
  return notification.alerts.filter((alert) => state(alert.event_id) === "sent");
}
