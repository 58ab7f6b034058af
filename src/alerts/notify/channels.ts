import { z } from "zod";
import type { ChannelName } from "../alert_config.ts";
import { channelNameSchema } from "../alert_config.ts";
import type { Notifier } from "./notification.ts";
import { slackNotifier } from "./slack.ts";
import { PAGERDUTY_EVENTS_URL, pagerDutyNotifier } from "./pagerduty.ts";
import { webhookNotifier } from "./webhook.ts";
import { emailNotifier } from "./email.ts";

const text = z.string().trim().min(1).optional();
const url = z.string().trim().url().optional();

/** The variables channels read. Secrets come from env only, never from tables. */
export const alertEnvSchema = z.object({
  SLACK_WEBHOOK_URL: url,
  PAGERDUTY_ROUTING_KEY: text,
  PAGERDUTY_EVENTS_URL: url,
  ALERT_WEBHOOK_URL: url,
  ALERT_WEBHOOK_SECRET: text,
  EMAIL_API_URL: url,
  EMAIL_API_KEY: text,
  /** Comma-separated recipients. */
  EMAIL_TO: text,
  /** Sender address (optional). */
  EMAIL_FROM: text,
});

/** Which channels can send, and why the others cannot. */
export interface ChannelSet {
  enabled: Map<ChannelName, Notifier>;
  /** Channel -> "disabled: X unset" (or an invalid value). */
  disabled: Map<ChannelName, string>;
}

/**
 * Builds the channels from env: a channel whose variables are unset (or empty)
 * is disabled with the reason `/status` shows, never enabled with `""`.
 */
export function channelsFromEnv(env: Record<string, string | undefined>): ChannelSet {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in alertEnvSchema.shape && value?.trim()),
  );
  const enabled = new Map<ChannelName, Notifier>();
  const disabled = new Map<ChannelName, string>();
  const parsed = alertEnvSchema.safeParse(cleaned);
  const invalid = new Map<string, string>();
  let values: z.infer<typeof alertEnvSchema> = {};
  if (parsed.success) {
    values = parsed.data;
  } else {
    for (const issue of parsed.error.issues) invalid.set(String(issue.path[0]), issue.message);
    values = Object.fromEntries(
      Object.entries(cleaned).filter(([key]) => !invalid.has(key)),
    ) as typeof values;
  }
  const need = (channel: ChannelName, names: (keyof typeof values)[], make: () => Notifier) => {
    const bad = names.find((name) => invalid.has(name));
    const missing = names.filter((name) => !values[name]);
    if (bad) disabled.set(channel, `disabled: ${bad} is invalid (${invalid.get(bad)})`);
    else if (missing.length) disabled.set(channel, `disabled: ${missing.join(", ")} unset`);
    else {
      try {
        enabled.set(channel, make());
      } catch (error) {
        disabled.set(channel, `disabled: ${(error as Error).message}`);
      }
    }
  };
  need("slack", ["SLACK_WEBHOOK_URL"], () => slackNotifier(values.SLACK_WEBHOOK_URL!));
  need(
    "pagerduty",
    ["PAGERDUTY_ROUTING_KEY"],
    () =>
      pagerDutyNotifier(
        values.PAGERDUTY_ROUTING_KEY!,
        values.PAGERDUTY_EVENTS_URL ?? PAGERDUTY_EVENTS_URL,
      ),
  );
  need(
    "webhook",
    ["ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_SECRET"],
    () => webhookNotifier(values.ALERT_WEBHOOK_URL!, values.ALERT_WEBHOOK_SECRET!),
  );
  need("email", ["EMAIL_API_URL", "EMAIL_API_KEY", "EMAIL_TO"], () =>
    emailNotifier({
      url: values.EMAIL_API_URL!,
      apiKey: values.EMAIL_API_KEY!,
      to: values.EMAIL_TO!.split(",").map((to) => to.trim()).filter(Boolean),
      from: values.EMAIL_FROM ?? "monitoring@localhost",
    }));
  if (invalid.has("PAGERDUTY_EVENTS_URL") && enabled.has("pagerduty")) {
    enabled.delete("pagerduty");
    disabled.set(
      "pagerduty",
      `disabled: PAGERDUTY_EVENTS_URL is invalid (${invalid.get("PAGERDUTY_EVENTS_URL")})`,
    );
  }
  return { enabled, disabled };
}

/** Every channel name, in display order. */
export const CHANNEL_NAMES: readonly ChannelName[] = channelNameSchema.options;
