import type { CycleSummary } from "../../cycle/run_cycle.ts";
import type { Command, ExitCode } from "../cli_io.ts";
import { EXIT, printJson } from "../cli_io.ts";
import { parseCommand } from "../parse_args.ts";
import { reportCycleError } from "./cycle.ts";

interface SnapshotRow {
  snapshot_id: number;
  snapshot_timestamp: string;
  overall_health_status: string;
  success_rate_percent: number | null;
  avg_processing_time_ms: number | null;
  total_transactions_last_hour: number;
  monitoring_events_last_hour: number;
  open_critical_events: number;
}

function snapshotExitCode(status: string | undefined): ExitCode {
  return status === "HEALTHY" ? EXIT.ok : status === "WARNING" ? EXIT.degraded : EXIT.failed;
}

/**
 * `monitor snapshot`: takes a health snapshot now (the health tier's
 * `system_health` detector) and prints it. Exit 0 HEALTHY, 3 WARNING, 1 CRITICAL.
 */
export const snapshot: Command = async (args, ctx) => {
  parseCommand("snapshot", args, {});
  const answer = await ctx.call<CycleSummary>("monitoring/cycle", {
    method: "POST",
    body: { tier: "health", detectors: ["system_health"] },
  });
  if (!answer.ok) return reportCycleError(ctx, answer);
  const outcome = answer.body.detectors.find((d) => d.detector === "system_health");
  const report = outcome?.report as { snapshot_id?: number; status?: string } | undefined;
  if (!outcome || outcome.status !== "ok" || !report?.snapshot_id) {
    ctx.err(`snapshot: not taken: ${outcome?.error ?? outcome?.reason ?? "no system_health run"}`);
    return EXIT.failed;
  }
  // The figures come from the API when it is deployed; the cycle's answer has the verdict.
  const listed = await ctx.call<{ snapshots?: SnapshotRow[] }>("monitoring-api/snapshots", {
    query: { limit: 1 },
  });
  const row = listed.ok
    ? listed.body.snapshots?.find((s) => s.snapshot_id === report.snapshot_id)
    : undefined;
  if (ctx.json) {
    printJson(ctx, row ?? { snapshot_id: report.snapshot_id, status: report.status });
    return snapshotExitCode(report.status);
  }
  ctx.out(`snapshot ${report.snapshot_id}: ${report.status}`);
  if (outcome.examples?.[0]) ctx.out(outcome.examples[0]);
  if (row) {
    ctx.out(`success rate (1h):      ${row.success_rate_percent ?? "-"} %`);
    ctx.out(`avg detection time:     ${row.avg_processing_time_ms ?? "-"} ms`);
    ctx.out(`transactions (1h):      ${row.total_transactions_last_hour}`);
    ctx.out(`events (1h):            ${row.monitoring_events_last_hour}`);
    ctx.out(`open CRITICAL events:   ${row.open_critical_events}`);
  }
  return snapshotExitCode(report.status);
};
