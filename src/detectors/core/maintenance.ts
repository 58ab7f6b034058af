import { z } from "zod";
import { defineDetector } from "../types.ts";
import { retentionConfig } from "../../config/core_config.ts";
import type { Tx } from "../../db/client.ts";

/** What `cleanup_monitoring_data(jsonb)` reports for one table. */
const tableReportSchema = z.object({
  deleted: z.number(),
  older_than: z.string().optional(),
  /** The run stopped at its batch limit; the next run goes on. */
  more: z.boolean(),
});
const cleanupReportSchema = z.record(z.string(), tableReportSchema);

/**
 * Deletes history past its retention through `cleanup_monitoring_data(jsonb)`:
 * resolved and false-positive events, snapshots, detector runs, cycles, sent alerts
 * and change-feed rows every detector has read; then silences that ended longer ago
 * than alerts are kept. Live events are never deleted.
 * Work per run is bounded (`batch_size` x `max_batches` per table) so the run stays
 * within its statement timeout; a table with more to delete says `more: true`.
 */
export const retentionCleanup = defineDetector({
  id: "retention_cleanup",
  pack: "core",
  eventType: "maintenance",
  severity: "LOW",
  kind: "task",
  tier: "maintenance",
  description: "Deletes resolved events, snapshots, runs and alerts older than their retention",
  config: z.object({}),
  async run(ctx) {
    const retention = ctx.runtime.get(retentionConfig);
    const [row] = await ctx.sql<{ report: unknown }[]>`
      select cleanup_monitoring_data(${ctx.sql.json(retention)}::jsonb) as report`;
    const report = cleanupReportSchema.parse(row.report);
    report.silences = await purgeSilences(ctx.sql, retention);
    const deleted = Object.values(report).reduce((sum, table) => sum + table.deleted, 0);
    ctx.log.info("retention cleanup", {
      deleted: Object.fromEntries(Object.entries(report).map(([t, r]) => [t, r.deleted])),
      more: Object.keys(report).filter((table) => report[table].more),
    });
    return { findings: [], rowsExamined: deleted, report: { retention, ...report } };
  },
});

/**
 * Deletes silences that ended more than `alerts_days` ago: they explain why the
 * alerts of that time were suppressed, and go with them. One bounded statement.
 */
async function purgeSilences(
  sql: Tx,
  retention: z.infer<typeof retentionConfig.schema>,
): Promise<z.infer<typeof tableReportSchema>> {
  const cutoff = new Date(Date.now() - retention.alerts_days * 86_400_000);
  const deleted = await sql`
    delete from alert_silences where silence_id in (
      select silence_id from alert_silences where ends_at < ${cutoff}
      order by ends_at limit ${retention.batch_size})`;
  return {
    deleted: deleted.count,
    older_than: cutoff.toISOString(),
    more: deleted.count === retention.batch_size,
  };
}

/** The monitoring tables whose planner statistics maintenance keeps current. */
export const ANALYZED_TABLES = [
  "monitoring_events",
  "monitoring_detector_runs",
  "monitoring_cycles",
  "monitoring_changes",
  "system_health_snapshots",
  "alert_history",
] as const;

/** Refreshes the summary views and keeps planner statistics current. */
export const refreshViews = defineDetector({
  id: "refresh_views",
  pack: "core",
  eventType: "maintenance",
  severity: "LOW",
  kind: "task",
  tier: "maintenance",
  description: "Refreshes monitoring_daily_summary and analyzes the monitoring tables",
  config: z.object({}),
  async run(ctx) {
    await ctx.sql`select refresh_monitoring_views()`;
    // Tables the cycle writes every 30 s drift fast; autovacuum's analyze may lag.
    await ctx.sql`analyze ${ctx.sql(ANALYZED_TABLES as unknown as string[])}`;
    return {
      findings: [],
      rowsExamined: 0,
      report: { refreshed: ["monitoring_daily_summary"], analyzed: [...ANALYZED_TABLES] },
    };
  },
});
