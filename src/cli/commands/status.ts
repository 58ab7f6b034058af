import type { statusReport } from "../../status/status_report.ts";
import type { Command } from "../cli_io.ts";
import { EXIT, printJson } from "../cli_io.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand } from "../parse_args.ts";
import { ago, renderTable } from "../table.ts";

/** `/monitoring/status` as it arrives over JSON (dates as strings). */
type StatusReport = Awaited<ReturnType<typeof statusReport>>;
type JsonDates<T> = T extends Date ? string
  : T extends (infer U)[] ? JsonDates<U>[]
  : T extends object ? { [K in keyof T]: JsonDates<T[K]> }
  : T;
type Status = JsonDates<StatusReport>;

/**
 * `monitor status`: the cycle breaker, tiers, packs (and why one is skipped), every
 * detector's breaker and last run, open events, the change feed backlog, and config
 * rows that failed validation. Exit 0 unless the call fails.
 */
export const status: Command = async (args, ctx) => {
  parseCommand("status", args, {});
  const answer = await ctx.call<Status>("monitoring/status");
  if (!answer.ok) {
    ctx.err(`status: ${errorText(answer)}`);
    return EXIT.failed;
  }
  const report = answer.body;
  if (ctx.json) {
    printJson(ctx, report);
    return EXIT.ok;
  }
  const breaker = report.circuit_breaker;
  ctx.out(
    `cycle breaker: ${breaker.state}${breaker.failures ? ` (${breaker.failures} failures)` : ""}${
      breaker.last_error ? `; last error: ${breaker.last_error}` : ""
    }`,
  );
  const open = report.open_events;
  ctx.out(
    `open events:   ${open.total} (CRITICAL ${open.by_severity.CRITICAL}, HIGH ${open.by_severity.HIGH}, ` +
      `MEDIUM ${open.by_severity.MEDIUM}, LOW ${open.by_severity.LOW})`,
  );
  ctx.out(
    `change feed:   ${report.change_feed.pending_changes} rows pending${
      report.change_feed.oldest_pending_at
        ? `, oldest ${ago(report.change_feed.oldest_pending_at)}`
        : ""
    }`,
  );
  ctx.out("");
  ctx.out(renderTable(Object.entries(report.tiers), [
    { header: "TIER", value: ([tier]) => tier },
    { header: "STATE", value: ([, t]) => t.status },
    { header: "EVERY", value: ([, t]) => `${t.interval_seconds}s`, align: "right" },
    { header: "LAST CYCLE", value: ([, t]) => ago(t.last_started_at) },
    { header: "RESULT", value: ([, t]) => t.last_status },
  ]));
  ctx.out("");
  ctx.out(renderTable(report.packs, [
    { header: "PACK", value: (p) => p.id },
    { header: "AVAILABLE", value: (p) => p.available ? "yes" : "no" },
    {
      header: "NOTE",
      value: (p) => [p.reason, ...p.warnings].filter(Boolean).join("; ") || "",
      max: 90,
    },
  ]));
  ctx.out("");
  ctx.out(renderTable(report.detectors, [
    { header: "DETECTOR", value: (d) => d.id },
    { header: "PACK", value: (d) => d.pack },
    { header: "TIER", value: (d) => d.tier },
    { header: "ON", value: (d) => d.enabled ? "yes" : "no" },
    { header: "BREAKER", value: (d) => d.breaker.state },
    { header: "LAST RUN", value: (d) => d.last_run?.status ?? "never" },
    { header: "WHEN", value: (d) => d.last_run ? ago(d.last_run.started_at) : "" },
    { header: "FOUND", value: (d) => d.last_run?.findings ?? "", align: "right" },
    { header: "NOTE", value: (d) => d.last_run?.error ?? d.skipped_reason ?? "", max: 60 },
  ]));
  if (report.config_errors.length) {
    ctx.out("");
    ctx.out("config rows replaced by defaults:");
    for (const error of report.config_errors) ctx.out(`! ${error.key}: ${error.message}`);
  }
  return EXIT.ok;
};
