import type { Sql } from "../db/client.ts";
import type { StatusSection } from "../status/status_report.ts";
import { CHANNEL_NAMES, channelsFromEnv } from "./notify/channels.ts";
import { channelBreaker } from "./outbox/sender.ts";

/**
 * The `channels` section of `/status`: per channel, whether it is enabled (or
 * which variable is unset), rows pending and failed, the oldest pending row,
 * the last success and its breaker.
 */
export function channelStatusSection(env: Record<string, string | undefined>): StatusSection {
  return async (sql: Sql) => {
    const channels = channelsFromEnv(env);
    const counts = await sql<
      {
        channel: string;
        pending: number;
        failed: number;
        oldest_pending_at: Date | null;
        last_success_at: Date | null;
        last_error: string | null;
      }[]
    >`
      select c.channel,
        count(h.alert_id) filter (where h.status = 'pending')::int as pending,
        count(h.alert_id) filter (where h.status = 'failed')::int as failed,
        min(h.created_at) filter (where h.status = 'pending') as oldest_pending_at,
        (select max(s.sent_at) from alert_history s
          where s.channel = c.channel and s.status = 'sent') as last_success_at,
        (array_agg(h.last_error order by h.updated_at desc)
          filter (where h.last_error is not null))[1] as last_error
      from unnest(${CHANNEL_NAMES as string[]}::text[]) as c(channel)
      left join alert_history h on h.channel = c.channel and h.status in ('pending', 'failed')
      group by c.channel`;
    const breakers = await sql<
      { name: string; state: string; failures: number; opened_at: Date | null }[]
    >`
      select name, state, failures, opened_at from monitoring_circuit_breakers
      where name like 'channel:%'`;
    const section: Record<string, unknown> = {};
    for (const name of CHANNEL_NAMES) {
      const row = counts.find((count) => count.channel === name);
      const breaker = breakers.find((b) => b.name === channelBreaker(name));
      section[name] = {
        status: channels.enabled.has(name) ? "enabled" : channels.disabled.get(name),
        enabled: channels.enabled.has(name),
        pending: row?.pending ?? 0,
        failed: row?.failed ?? 0,
        oldest_pending_at: row?.oldest_pending_at ?? null,
        last_success_at: row?.last_success_at ?? null,
        last_error: row?.last_error ?? null,
        breaker: {
          state: breaker?.state ?? "closed",
          failures: breaker?.failures ?? 0,
          opened_at: breaker?.opened_at ?? null,
        },
      };
    }
    return ["channels", section];
  };
}
