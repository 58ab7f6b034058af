import type { DemoOutcome } from "./demo_scenario.ts";
import { demoSucceeded } from "./demo_scenario.ts";
import type { LiveEvent } from "./planted_check.ts";
import { formatTable, heading } from "./text_table.ts";

const money = (value: unknown) => Number(value).toFixed(2);

/** The money (or count) an event is about, in a few characters. */
function eventAmount(event: LiveEvent): string {
  const context = event.context;
  if (typeof context.deducted === "number") return `-${money(context.deducted)}`;
  if (typeof context.difference === "number") {
    return `${context.difference > 0 ? "+" : ""}${money(context.difference)}`;
  }
  if (Array.isArray(context.charges) && context.charges.length > 0) {
    const charges = context.charges as { amount: number }[];
    return charges.map((charge) => money(charge.amount)).join(" + ");
  }
  if (typeof context.failures === "number") return `${context.failures} declines`;
  return "";
}

function eventsSection(outcome: DemoOutcome): string[] {
  const lines = [heading(`Open events (${outcome.events.length})`)];
  const severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
  for (const severity of severities) {
    const events = outcome.events.filter((event) => event.severity === severity);
    if (events.length === 0) continue;
    lines.push(`\n  ${severity} (${events.length})`);
    lines.push(formatTable(
      [
        { header: "id", align: "right" },
        { header: "detector" },
        { header: "card / subject" },
        { header: "amount", align: "right" },
        { header: "title" },
      ],
      events.map((event) => [
        event.event_id,
        event.detector,
        event.card_id ?? event.entity_id ?? "",
        eventAmount(event),
        event.title,
      ]),
      "    ",
    ));
  }
  return lines;
}

function cyclesSection(outcome: DemoOutcome): string[] {
  const lines = [heading("Cycles (POST /functions/v1/monitoring/cycle)")];
  lines.push(formatTable(
    [
      { header: "tier" },
      { header: "step" },
      { header: "http", align: "right" },
      { header: "status" },
      { header: "ms", align: "right" },
      { header: "detectors", align: "right" },
      { header: "findings", align: "right" },
      { header: "new", align: "right" },
      { header: "resolved", align: "right" },
    ],
    outcome.cycles.map((cycle) => [
      cycle.tier,
      cycle.step,
      cycle.status,
      cycle.summary?.status ?? cycle.error ?? "",
      cycle.summary?.duration_ms ?? "",
      cycle.summary?.detectors.length ?? "",
      cycle.summary?.totals.findings ?? "",
      cycle.summary?.totals.new_events ?? "",
      cycle.summary?.totals.resolved_events ?? "",
    ]),
  ));
  lines.push(heading("Detector runs"));
  const runs = outcome.cycles.flatMap((cycle, i) =>
    (cycle.summary?.detectors ?? []).map((run) => ({ cycle: `${i + 1}. ${cycle.tier}`, run }))
  );
  lines.push(formatTable(
    [
      { header: "cycle" },
      { header: "detector" },
      { header: "mode" },
      { header: "status" },
      { header: "ms", align: "right" },
      { header: "rows examined", align: "right" },
      { header: "findings", align: "right" },
      { header: "new", align: "right" },
      { header: "breaker" },
    ],
    runs.filter(({ run }) => run.status !== "skipped").map(({ cycle, run }) => [
      cycle,
      run.detector,
      run.mode,
      run.error ? `${run.status}: ${run.error}` : run.status,
      run.duration_ms,
      run.rows_examined,
      run.findings,
      run.new_events,
      run.breaker ?? "closed",
    ]),
  ));
  const skipped = new Map<string, Set<string>>();
  for (const { run } of runs) {
    if (run.status === "skipped") {
      skipped.set(run.pack, (skipped.get(run.pack) ?? new Set()).add(run.detector));
    }
  }
  for (const [pack, detectors] of skipped) {
    lines.push(`  (${pack}: ${detectors.size} detectors skipped, see Status below)`);
  }
  return lines;
}

function healthSection(outcome: DemoOutcome): string[] {
  const lines = [heading("Health")];
  const snapshot = outcome.snapshot;
  const health = outcome.health.body;
  const rows: [string, unknown][] = [
    [
      "GET /monitoring/health",
      `${outcome.health.status} ${health.status}${
        health.reasons.length ? ` (${health.reasons.join("; ")})` : ""
      }`,
    ],
    ["GET /monitoring-api/health", outcome.apiHealth.status],
    ["database latency", `${health.checks.database.latency_ms} ms`],
    ...Object.entries(health.checks.tiers ?? {}).map(([tier, freshness]): [string, unknown] => [
      `tier ${tier}`,
      `${freshness.status}, last ${
        freshness.last_status ?? "never"
      }, every ${freshness.interval_seconds} s`,
    ]),
  ];
  if (snapshot) {
    const rate = snapshot.success_rate_percent;
    rows.push(
      ["snapshot", `#${snapshot.snapshot_id} ${snapshot.overall_health_status}`],
      ["success rate (last hour)", rate === null ? "n/a" : `${rate.toFixed(1)} %`],
      ["transactions (last hour)", snapshot.total_transactions_last_hour],
      ["events (last hour)", snapshot.monitoring_events_last_hour],
      ["open critical events", snapshot.open_critical_events],
      [
        "avg detection time",
        snapshot.avg_processing_time_ms === null
          ? "n/a"
          : `${Math.round(snapshot.avg_processing_time_ms)} ms`,
      ],
    );
    const reasons = (snapshot.details as { reasons?: string[] }).reasons;
    if (reasons?.length) rows.push(["why", reasons.join("; ")]);
  }
  lines.push(formatTable([{ header: "check" }, { header: "value" }], rows));
  return lines;
}

function statusSection(outcome: DemoOutcome): string[] {
  const status = outcome.status;
  const lines = [heading("Status (GET /functions/v1/monitoring/status)")];
  const open = status.open_events.by_severity;
  lines.push(formatTable([{ header: "item" }, { header: "value" }], [
    [
      "cycle circuit breaker",
      `${status.circuit_breaker.state} (${status.circuit_breaker.failures} failures)`,
    ],
    [
      "open events",
      `${status.open_events.total}: ${
        Object.entries(open).map(([s, n]) => `${s} ${n}`).join(", ")
      }`,
    ],
    ["change feed pending", status.change_feed?.pending_changes ?? 0],
    [
      "config errors",
      status.config_errors.length ? status.config_errors.map((e) => e.key).join(", ") : "none",
    ],
  ]));
  lines.push("");
  lines.push(formatTable(
    [
      { header: "detector" },
      { header: "pack" },
      { header: "tier" },
      { header: "breaker" },
      { header: "last run" },
      { header: "ms", align: "right" },
      { header: "rows", align: "right" },
    ],
    status.detectors.filter((detector) => detector.available).map((detector) => [
      detector.id,
      detector.pack,
      detector.sweep_tier ? `${detector.tier}+${detector.sweep_tier}` : detector.tier,
      detector.breaker.state,
      detector.last_run?.status ?? "never",
      detector.last_run?.duration_ms ?? "",
      detector.last_run?.rows_examined ?? "",
    ]),
  ));
  lines.push("");
  lines.push(formatTable(
    [{ header: "pack" }, { header: "state" }, { header: "why" }],
    status.packs.map((pack) => [
      pack.id,
      pack.available ? "running" : "skipped",
      pack.available ? pack.warnings.join("; ") : pack.reason,
    ]),
  ));
  return lines;
}

function plantedSection(outcome: DemoOutcome): string[] {
  const { check } = outcome;
  const lines = [heading("Planted anomalies")];
  lines.push(formatTable(
    [{ header: "" }, { header: "anomaly" }, { header: "expected events" }],
    check.plants.map((plant) => [
      plant.found ? "found" : "MISSED",
      plant.anomaly.label,
      plant.matches.map((m) => `${m.expect.detector} ${m.expect.severity} x${m.count}`).join(", "),
    ]),
  ));
  if (check.unexpected.length > 0) {
    lines.push(`\n  ${check.unexpected.length} event(s) nobody planted (false positives):`);
    for (const event of check.unexpected) lines.push(`    #${event.event_id} ${event.title}`);
  } else {
    lines.push("\n  No event on clean traffic (no false positives).");
  }
  return lines;
}

/** The demo's terminal report: traffic, cycles, detector runs, events, health, status, verdict. */
export function formatDemoReport(outcome: DemoOutcome): string {
  const lines = [heading("Traffic generated")];
  for (const { pack, figures } of outcome.traffic) {
    lines.push(formatTable(
      [{ header: pack }, { header: "", align: "right" }],
      figures.map((figure) => [figure.label, figure.value]),
    ));
  }
  lines.push(
    ...cyclesSection(outcome),
    ...eventsSection(outcome),
    ...healthSection(outcome),
    ...statusSection(outcome),
    ...plantedSection(outcome),
  );
  const found = outcome.check.plants.filter((plant) => plant.found).length;
  lines.push(
    "",
    demoSucceeded(outcome)
      ? `OK: ${found}/${outcome.check.plants.length} planted anomalies found, no false positives, every cycle ok.`
      : `FAILED: ${found}/${outcome.check.plants.length} planted anomalies found, ${outcome.check.unexpected.length} false positive(s); see above.`,
  );
  return lines.join("\n");
}
