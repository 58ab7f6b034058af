import { z } from "zod";
import type { Tx } from "../db/client.ts";
import { alertRowSchema } from "./events.ts";

/** Query of `GET /alerts`: newest first, paged by `before` (an alert_id). */
export const alertsQuerySchema = z.object({
  status: z.enum(["pending", "sent", "failed", "suppressed"]).optional(),
  channel: z.string().trim().min(1).max(100).optional(),
  event_id: z.coerce.number().int().min(1).optional(),
  before: z.coerce.number().int().min(1).optional().describe("alert_id of the last row seen"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();

export const alertsResponseSchema = z.object({
  alerts: z.array(alertRowSchema),
  next_before: z.number().int().nullable(),
});

/** Alert deliveries (the `alert_history` outbox), newest first. */
export async function listAlerts(
  sql: Tx,
  query: z.infer<typeof alertsQuerySchema>,
): Promise<z.infer<typeof alertsResponseSchema>> {
  const rows = await sql<z.infer<typeof alertRowSchema>[]>`
    select alert_id, event_id, channel, status, dedup_key, attempts, next_attempt_at, last_error,
      case when octet_length(payload::text) > 4096
        then jsonb_build_object('_truncated', true, '_bytes', octet_length(payload::text))
        else payload end as payload,
      created_at, sent_at
    from alert_history
    where true
      ${query.status ? sql`and status = ${query.status}` : sql``}
      ${query.channel ? sql`and channel = ${query.channel}` : sql``}
      ${query.event_id ? sql`and event_id = ${query.event_id}` : sql``}
      ${query.before ? sql`and alert_id < ${query.before}` : sql``}
    order by alert_id desc
    limit ${query.limit + 1}`;
  const page = rows.slice(0, query.limit);
  return {
    alerts: page,
    next_before: rows.length > query.limit ? page.at(-1)!.alert_id : null,
  };
}
