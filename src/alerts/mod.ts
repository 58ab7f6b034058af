/**
 * The alert pipeline, as Alertmanager stages it: route (tree of matchers),
 * dispatch (grouping into the Postgres outbox, escalation), inhibit, silence,
 * notify (one file per channel) and the outbox sender.
 *
 * @module
 */
export { alertsConfig, DEFAULT_INHIBIT_RULES, DEFAULT_ROUTE } from "./alert_config.ts";
export type { AlertsSettings, ChannelName, InhibitRule, RouteConfig } from "./alert_config.ts";
export { alertLabels } from "./labels.ts";
export type { Labels } from "./labels.ts";
export { receiversFor, resolveRoutes } from "./route/route_tree.ts";
export { enqueueEventChanges, planNotifications, writeNotifications } from "./dispatch/enqueue.ts";
export { enqueueStatusChange } from "./dispatch/status_change.ts";
export { enqueueEscalations } from "./dispatch/escalation.ts";
export {
  activeSilences,
  createSilence,
  expireSilence,
  listSilences,
  silenceInputSchema,
} from "./silence/silences.ts";
export type { Silence, SilenceInput } from "./silence/silences.ts";
export { channelsFromEnv } from "./notify/channels.ts";
export { channelBreaker, deliverDueAlerts } from "./outbox/sender.ts";
export type { DeliverOptions, DeliverySummary } from "./outbox/sender.ts";
export { createAlertHooks } from "./alert_hooks.ts";
export { channelStatusSection } from "./channel_status.ts";
export { startAlertSink } from "./demo_sink.ts";
