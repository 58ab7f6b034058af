import type { HealthReport } from "../../health/health_check.ts";
import type { Command, ExitCode } from "../cli_io.ts";
import { EXIT, printJson } from "../cli_io.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand } from "../parse_args.ts";
import { ago, renderTable } from "../table.ts";

/** The exit code of a health status: healthy 0, degraded 3, unhealthy 1. */
export function healthExitCode(status: HealthReport["status"]): ExitCode {
  return status === "healthy" ? EXIT.ok : status === "degraded" ? EXIT.degraded : EXIT.failed;
}

/**
 * `monitor health`: the morning check in one line per tier. Reads
 * `/monitoring/health`, which judges freshness from the cycles the service recorded
 * itself (pg_cron reports success once a request is queued, so its log proves nothing).
 */
export const health: Command = async (args, ctx) => {
  parseCommand("health", args, {});
  const answer = await ctx.call<HealthReport>("monitoring/health");
  // A 503 carries a health report too (database down); anything else, or a 503 from
  // something in front of the function, is an error envelope.
  if (!answer.ok && !(answer.status === 503 && answer.body?.checks)) {
    ctx.err(`health: ${errorText(answer)}`);
    return EXIT.failed;
  }
  const report = answer.body;
  if (ctx.json) {
    printJson(ctx, report);
    return healthExitCode(report.status);
  }
  const { database, tiers, circuit_breaker } = report.checks;
  ctx.out(`monitoring: ${report.status.toUpperCase()}  (checked ${report.checked_at})`);
  ctx.out(
    `database:   ${database.status}${
      database.status === "up" ? ` (${database.latency_ms} ms)` : `: ${database.error ?? ""}`
    }`,
  );
  if (circuit_breaker) {
    ctx.out(
      `breakers:   cycle ${circuit_breaker.state}${
        circuit_breaker.open_breakers.length
          ? `; not closed: ${circuit_breaker.open_breakers.join(", ")}`
          : ""
      }`,
    );
  }
  if (tiers) {
    ctx.out("");
    ctx.out(renderTable(Object.entries(tiers), [
      { header: "TIER", value: ([tier]) => tier },
      { header: "STATE", value: ([, t]) => t.status },
      { header: "EVERY", value: ([, t]) => `${t.interval_seconds}s`, align: "right" },
      { header: "LAST CYCLE", value: ([, t]) => ago(t.last_started_at) },
      { header: "RESULT", value: ([, t]) => t.last_status },
    ]));
  }
  if (report.reasons.length) {
    ctx.out("");
    for (const reason of report.reasons) ctx.out(`! ${reason}`);
  }
  return healthExitCode(report.status);
};
