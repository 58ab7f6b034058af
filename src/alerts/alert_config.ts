import { z } from "zod";
import { defineConfig } from "../config/runtime_config.ts";
import { matcherSchema } from "./matchers.ts";
import { LABEL_NAMES } from "./labels.ts";

/** The channels a route may name. */
export const channelNameSchema = z.enum(["slack", "pagerduty", "webhook", "email"]);
export type ChannelName = z.infer<typeof channelNameSchema>;

const labelNameSchema = z.enum(LABEL_NAMES);
const seconds = z.number().int().min(0).max(7 * 24 * 3600);

/** One node of the routing tree; unset settings are inherited from the parent. */
export interface RouteConfig {
  matchers?: string[];
  receivers?: ChannelName[];
  group_by?: z.infer<typeof labelNameSchema>[];
  group_wait_seconds?: number;
  group_interval_seconds?: number;
  repeat_interval_seconds?: number;
  /** Keep matching later siblings after this route matched. */
  continue?: boolean;
  routes?: RouteConfig[];
}

export const routeSchema: z.ZodType<RouteConfig> = z.lazy(() =>
  z.object({
    matchers: z.array(matcherSchema).optional(),
    receivers: z.array(channelNameSchema).optional(),
    group_by: z.array(labelNameSchema).optional(),
    group_wait_seconds: seconds.optional(),
    group_interval_seconds: seconds.min(1).optional(),
    repeat_interval_seconds: seconds.min(60).optional(),
    continue: z.boolean().optional(),
    routes: z.array(routeSchema).optional(),
  }).strict()
);

/**
 * The documented default tree: CRITICAL pages (PagerDuty + Slack) without waiting,
 * HIGH goes to Slack, MEDIUM to a Slack digest (10 min group_wait, hourly
 * batches), LOW nowhere. The first child copies CRITICAL and HIGH to the generic
 * webhook and email, then lets matching continue. Root timings are
 * Alertmanager's: group_wait 30 s, group_interval 5 m, repeat_interval 4 h.
 */
export const DEFAULT_ROUTE: RouteConfig = {
  receivers: [],
  group_by: ["pack", "detector"],
  group_wait_seconds: 30,
  group_interval_seconds: 300,
  repeat_interval_seconds: 4 * 3600,
  routes: [
    { matchers: ["severity=~CRITICAL|HIGH"], receivers: ["webhook", "email"], continue: true },
    { matchers: ["severity=CRITICAL"], receivers: ["pagerduty", "slack"], group_wait_seconds: 0 },
    { matchers: ["severity=HIGH"], receivers: ["slack"] },
    {
      matchers: ["severity=MEDIUM"],
      receivers: ["slack"],
      group_wait_seconds: 600,
      group_interval_seconds: 3600,
    },
    { matchers: ["severity=LOW"], receivers: [] },
  ],
};

const inhibitRuleSchema = z.object({
  source_matchers: z.array(matcherSchema).min(1),
  target_matchers: z.array(matcherSchema).min(1),
  /** Labels source and target must share; both must have them (unlike Alertmanager). */
  equal: z.array(labelNameSchema).min(1),
}).strict();
export type InhibitRule = z.infer<typeof inhibitRuleSchema>;

/** An open CRITICAL mutes lower severities about the same card, or the same entity. */
export const DEFAULT_INHIBIT_RULES: InhibitRule[] = [
  {
    source_matchers: ["severity=CRITICAL"],
    target_matchers: ["severity=~HIGH|MEDIUM|LOW"],
    equal: ["card_id"],
  },
  {
    source_matchers: ["severity=CRITICAL"],
    target_matchers: ["severity=~HIGH|MEDIUM|LOW"],
    equal: ["entity_type", "entity_id"],
  },
];

/** `monitoring_config` key `alerts`: routing, inhibition, escalation and delivery. */
export const alertsConfig = defineConfig(
  "alerts",
  "Alert routing tree, inhibit rules, escalation of unacknowledged events, and delivery limits (see docs/alerts.md)",
  z.object({
    route: routeSchema.default(DEFAULT_ROUTE),
    inhibit_rules: z.array(inhibitRuleSchema).default(DEFAULT_INHIBIT_RULES),
    /** Send a notice when a notified event is resolved (or marked a false positive). */
    send_resolved: z.boolean().default(true),
    escalation: z.object({
      /** Re-notify unacknowledged events of these severities every `every_minutes`; 0 turns it off. */
      severities: z.array(z.enum(["CRITICAL", "HIGH", "MEDIUM", "LOW"])).default(["CRITICAL"]),
      every_minutes: z.number().int().min(0).max(24 * 60).default(15),
    }).strict().prefault({}),
    /** Where notices link to. */
    dashboard_url: z.string().url().default("http://127.0.0.1:54321/dashboard/"),
    delivery: z.object({
      /** Groups claimed per round trip (each message is one group). */
      batch_size: z.number().int().min(1).max(500).default(20),
      /** Per-send timeout. */
      send_timeout_ms: z.number().int().min(50).max(60_000).default(10_000),
      /** Wall-clock budget of one sender run; what is left waits for the next run. */
      budget_ms: z.number().int().min(100).max(300_000).default(20_000),
      /** How long a claimed row stays invisible to other senders before it is retried. */
      lease_seconds: z.number().int().min(1).max(3600).default(60),
      backoff_base_seconds: z.number().min(0.1).max(3600).default(15),
      backoff_max_seconds: z.number().min(1).max(86_400).default(3600),
      /** Retry-After beyond this is capped (a misbehaving receiver cannot park alerts for days). */
      retry_after_max_seconds: z.number().min(1).max(86_400).default(3600),
      max_attempts: z.number().int().min(1).max(100).default(12),
      /** Minimum gap between two Slack messages (Slack allows about one a second per webhook). */
      slack_min_interval_ms: z.number().int().min(0).max(60_000).default(1000),
      /**
       * Minimum gap between two PagerDuty events: its Events API takes about 120 a
       * minute per routing key and answers 429 past that.
       */
      pagerduty_min_interval_ms: z.number().int().min(0).max(60_000).default(500),
    }).strict().prefault({}),
  }),
);
export type AlertsSettings = z.infer<typeof alertsConfig.schema>;
