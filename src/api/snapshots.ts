import { z } from "zod";
import type { Tx } from "../db/client.ts";

const timestamp = z.iso.datetime({ offset: true });

/** Query of `GET /snapshots`: newest first, optionally only since a time. */
export const snapshotsQuerySchema = z.object({
  since: timestamp.optional().describe("snapshot_timestamp >= since"),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
}).strict();

export const snapshotSchema = z.object({
  snapshot_id: z.number().int(),
  snapshot_timestamp: timestamp,
  avg_processing_time_ms: z.number().nullable(),
  success_rate_percent: z.number().nullable(),
  total_transactions_last_hour: z.number().int(),
  monitoring_events_last_hour: z.number().int(),
  open_critical_events: z.number().int(),
  overall_health_status: z.enum(["HEALTHY", "WARNING", "CRITICAL"]),
  details: z.record(z.string(), z.unknown()),
});

export const snapshotsResponseSchema = z.object({ snapshots: z.array(snapshotSchema) });

/** Details larger than this (bytes of JSON) are replaced by a marker. */
const DETAILS_CAP_BYTES = 16_384;

/** Health snapshots, newest first. */
export async function listSnapshots(
  sql: Tx,
  query: z.infer<typeof snapshotsQuerySchema>,
): Promise<z.infer<typeof snapshotsResponseSchema>> {
  const rows = await sql<z.infer<typeof snapshotSchema>[]>`
    select snapshot_id, snapshot_timestamp, avg_processing_time_ms, success_rate_percent,
      total_transactions_last_hour, monitoring_events_last_hour, open_critical_events,
      overall_health_status,
      case when octet_length(details::text) > ${DETAILS_CAP_BYTES}
        then jsonb_build_object('_truncated', true, '_bytes', octet_length(details::text))
        else details end as details
    from system_health_snapshots
    ${query.since ? sql`where snapshot_timestamp >= ${query.since}::timestamptz` : sql``}
    order by snapshot_timestamp desc, snapshot_id desc
    limit ${query.limit}`;
  return { snapshots: [...rows] };
}
