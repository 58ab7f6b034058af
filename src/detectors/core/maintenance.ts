import { z } from "zod";
import { defineDetector } from "../types.ts";
import { retentionConfig } from "../../config/core_config.ts";

/** Deletes old history through the ops guide's `cleanup_monitoring_data`. */
export const retentionCleanup = defineDetector({
  id: "retention_cleanup",
  pack: "core",
  eventType: "maintenance",
  severity: "LOW",
  kind: "task",
  tier: "maintenance",
  description: "Deletes resolved events, snapshots, runs and alerts older than the retention",
  config: z.object({}),
  async run(ctx) {
    const { retention_days } = ctx.runtime.get(retentionConfig);
    const [row] = await ctx.sql<{ report: Record<string, number> }[]>`
      select cleanup_monitoring_data(${retention_days}) as report`;
    const deleted = Object.entries(row.report)
      .filter(([key]) => key !== "retention_days")
      .reduce((sum, [, n]) => sum + Number(n), 0);
    return { findings: [], rowsExamined: deleted, report: row.report };
  },
});

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
    await ctx
      .sql`analyze monitoring_events, monitoring_detector_runs, monitoring_changes, alert_history`;
    return { findings: [], rowsExamined: 0, report: { refreshed: ["monitoring_daily_summary"] } };
  },
});
