import type { Tx } from "../../db/client.ts";
import type { EventStatus, MonitoringEvent } from "../../events/event_schema.ts";
import { loadRuntimeConfig } from "../../config/runtime_config.ts";
import { alertsConfig } from "../alert_config.ts";
import type { AlertsSettings } from "../alert_config.ts";
import { channelsFromEnv } from "../notify/channels.ts";
import { planNotifications, statusChangeAction, writeNotifications } from "./enqueue.ts";

/** Options for {@linkcode enqueueStatusChange}. */
export interface StatusChangeOptions {
  /** Where channel secrets come from (default: the process env). */
  env?: Record<string, string | undefined>;
  now?: Date;
  /** Settings instead of the `alerts` row. */
  settings?: AlertsSettings;
}

/**
 * Writes the notifications an operator's status change announces, in the
 * caller's transaction (the one that updates the event), so the notice commits
 * with the change or not at all: ACKNOWLEDGED -> PagerDuty (and webhook)
 * `acknowledge`, which also ends escalation; RESOLVED or FALSE_POSITIVE ->
 * `resolve` with the same dedup key on every channel that was told about the
 * trigger, saying which. `event` is the row after the change.
 *
 * @returns the number of outbox rows written.
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   const [event] = await tx`update monitoring_events set status = 'ACKNOWLEDGED' ... returning *`;
 *   await enqueueStatusChange(tx, event, "OPEN", "admin:ana@example.com");
 * });
 * ```
 */
export async function enqueueStatusChange(
  tx: Tx,
  event: MonitoringEvent,
  previousStatus: EventStatus,
  actor: string,
  options: StatusChangeOptions = {},
): Promise<number> {
  const change = statusChangeAction(previousStatus, event.status);
  if (!change) return 0;
  const settings = options.settings ??
    (await loadRuntimeConfig(tx, [alertsConfig])).get(alertsConfig);
  if (change.action === "resolve" && !settings.send_resolved) return 0;
  const channels = channelsFromEnv(options.env ?? Deno.env.toObject()).enabled;
  const rows = planNotifications(event, change.action, change.reason, actor, {
    settings,
    channels,
  });
  return await writeNotifications(tx, rows, options.now ?? new Date());
}
