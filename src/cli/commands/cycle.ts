import type { CycleSummary } from "../../cycle/run_cycle.ts";
import { tierSchema } from "../../detectors/types.ts";
import type { CliContext, Command, ExitCode } from "../cli_io.ts";
import { EXIT, printJson, UsageError } from "../cli_io.ts";
import type { FunctionAnswer } from "../functions_client.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand } from "../parse_args.ts";
import { renderTable } from "../table.ts";

/** The exit code of a cycle: ok or dry run 0, partial 3, failed 1. */
export function cycleExitCode(summary: CycleSummary): ExitCode {
  return summary.status === "failed"
    ? EXIT.failed
    : summary.status === "partial"
    ? EXIT.degraded
    : EXIT.ok;
}

/**
 * Prints a refused or failed cycle: 409 (the tier is already running elsewhere),
 * 503 (cycle breaker open), 400 (bad tier or detector).
 */
export function reportCycleError(ctx: CliContext, answer: FunctionAnswer): ExitCode {
  const body = answer.body as { error?: { details?: { held_by?: { holder?: string } } } };
  const holder = body?.error?.details?.held_by?.holder;
  ctx.err(`cycle: ${errorText(answer)}${holder ? ` (held by ${holder})` : ""}`);
  return answer.status === 400 ? EXIT.usage : EXIT.failed;
}

/**
 * A task's report in one line: per-table `{deleted, more}` entries as "deleted
 * alerts 0, events 12+" (`+`: more left for the next run), lists joined, scalars as
 * `key=value`. Nested settings are left to `--json`.
 */
export function describeReport(report: Record<string, unknown>): string {
  const deleted: string[] = [];
  const parts: string[] = [];
  for (const key of Object.keys(report).sort()) {
    const value = report[key];
    if (Array.isArray(value)) parts.push(`${key} ${value.join(", ")}`);
    else if (value && typeof value === "object") {
      const entry = value as { deleted?: unknown; more?: unknown };
      if (typeof entry.deleted === "number") {
        deleted.push(`${key} ${entry.deleted}${entry.more ? "+" : ""}`);
      }
    } else parts.push(`${key}=${value}`);
  }
  return [deleted.length ? `deleted ${deleted.join(", ")}` : "", ...parts]
    .filter(Boolean).join("; ");
}

/** Prints one cycle summary as a table of its detectors and the tasks' reports. */
export function printCycle(ctx: CliContext, summary: CycleSummary): void {
  ctx.out(
    `cycle ${summary.cycle_id}: ${summary.status} in ${summary.duration_ms} ms ` +
      `(tiers: ${summary.tiers.join(", ") || "none"})`,
  );
  ctx.out(renderTable(summary.detectors, [
    { header: "DETECTOR", value: (d) => d.detector },
    { header: "TIER", value: (d) => d.tier },
    { header: "MODE", value: (d) => d.mode },
    { header: "STATUS", value: (d) => d.status },
    { header: "MS", value: (d) => d.duration_ms, align: "right" },
    { header: "ROWS", value: (d) => d.rows_examined, align: "right" },
    { header: "FOUND", value: (d) => d.findings, align: "right" },
    { header: "NEW", value: (d) => d.new_events, align: "right" },
    { header: "RESOLVED", value: (d) => d.resolved_events, align: "right" },
    { header: "NOTE", value: (d) => d.error ?? d.reason ?? "", max: 60 },
  ]));
  const { totals } = summary;
  ctx.out(
    `totals: ${totals.findings} findings, ${totals.new_events} new events, ` +
      `${totals.resolved_events} resolved, ${totals.failed} failed`,
  );
  for (const detector of summary.detectors) {
    const report = detector.report ? describeReport(detector.report) : "";
    if (report) ctx.out(`${detector.detector}: ${report}`);
    if (summary.dry_run && detector.examples?.length) {
      for (const title of detector.examples) ctx.out(`  would record: ${title}`);
    }
  }
  for (const error of summary.config_errors) ctx.out(`! config ${error.key}: ${error.message}`);
}

/** `monitor cycle [--tier T] [--detector ID]... [--dry-run]`: runs a cycle now. */
export const cycle: Command = async (args, ctx) => {
  const { values } = parseCommand("cycle", args, {
    tier: { type: "string" },
    detector: { type: "string", multiple: true },
    "dry-run": { type: "boolean" },
  });
  if (values.tier !== undefined && !tierSchema.safeParse(values.tier).success) {
    throw new UsageError(
      `cycle: Cannot parse tier: received '${values.tier}' (one of ${
        tierSchema.options.join(", ")
      })`,
    );
  }
  const body: Record<string, unknown> = {};
  if (values.tier) body.tier = values.tier;
  if (values.detector?.length) body.detectors = values.detector;
  if (values["dry-run"]) body.dry_run = true;
  const answer = await ctx.call<CycleSummary>("monitoring/cycle", { method: "POST", body });
  // A cycle whose every detector failed answers 500 with its summary.
  const summary = answer.body as CycleSummary;
  if (!answer.ok && !(answer.status === 500 && summary?.cycle_id)) {
    return reportCycleError(ctx, answer);
  }
  if (ctx.json) printJson(ctx, summary);
  else printCycle(ctx, summary);
  return cycleExitCode(summary);
};
