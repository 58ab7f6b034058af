import type { Sql } from "../db/client.ts";
import type { Tier } from "../detectors/types.ts";
import type { CycleSummary } from "../cycle/run_cycle.ts";
import type { HealthReport } from "../health/health_check.ts";
import type { statusReport } from "../status/status_report.ts";
import type { FunctionsClient } from "./functions_client.ts";
import type { PackTraffic, PlantedAnomaly, TrafficFigure } from "./pack_traffic.ts";
import { checkPlanted, liveEvents } from "./planted_check.ts";
import type { DetectionCheck, LiveEvent } from "./planted_check.ts";

/** `GET /monitoring/status`, as the status report builds it. */
export type StatusBody = Awaited<ReturnType<typeof statusReport>>;

/** One `POST /monitoring/cycle` the demo made. */
export interface DemoCycle {
  /** Why it ran: "first pass", "after the offline sync"... */
  step: string;
  tier: Tier;
  status: number;
  /** Present when the cycle ran (200, or 500 when every detector failed). */
  summary?: CycleSummary;
  /** The error envelope's message otherwise. */
  error?: string;
}

/** The latest `system_health_snapshots` row. */
export interface HealthSnapshot {
  snapshot_id: number;
  snapshot_timestamp: Date;
  overall_health_status: string;
  success_rate_percent: number | null;
  total_transactions_last_hour: number;
  monitoring_events_last_hour: number;
  open_critical_events: number;
  avg_processing_time_ms: number | null;
  details: Record<string, unknown>;
}

/** Everything the demo saw, for the report and the tests. */
export interface DemoOutcome {
  traffic: { pack: string; figures: TrafficFigure[] }[];
  planted: PlantedAnomaly[];
  cycles: DemoCycle[];
  status: StatusBody;
  health: { status: number; body: HealthReport };
  apiHealth: { status: number };
  snapshot: HealthSnapshot | null;
  events: LiveEvent[];
  check: DetectionCheck;
}

/** What {@linkcode runDemoScenario} drives. */
export interface DemoScenarioOptions {
  /** The monitored database (to generate traffic and read events and snapshots). */
  sql: Sql;
  /** The served functions. */
  client: FunctionsClient;
  traffic: readonly PackTraffic[];
  now?: Date;
}

/**
 * Plays a festival evening against running functions: generates each pack's
 * traffic with its planted anomalies, runs a critical cycle over HTTP (the first
 * run backfills), lets late rows arrive (an offline terminal syncing hours-old
 * orders), then runs every tier once as the scheduler would, and reads back
 * `/status`, `/health`, the health snapshot and the live events. The pack tables
 * must exist and be set up (capture, indexes) before it runs.
 */
export async function runDemoScenario(options: DemoScenarioOptions): Promise<DemoOutcome> {
  const { sql, client, traffic } = options;
  const now = options.now ?? new Date();
  const planted: PlantedAnomaly[] = [];
  for (const pack of traffic) planted.push(...await pack.generate(sql, { now }));
  await waitForHorizon(sql);

  const cycles: DemoCycle[] = [];
  const runTier = async (step: string, tier: Tier) => {
    const response = await client.call<CycleSummary & { error?: { message: string } }>(
      "POST",
      "monitoring/cycle",
      { tier },
    );
    const ran = response.status === 200 || (response.status === 500 && !response.body.error);
    cycles.push({
      step,
      tier,
      status: response.status,
      summary: ran ? response.body : undefined,
      error: ran ? undefined : response.body.error?.message,
    });
  };

  await runTier("first pass (backfill)", "critical");
  for (const pack of traffic) planted.push(...await pack.late?.(sql, { now }) ?? []);
  await waitForHorizon(sql);
  await runTier("after late rows synced", "critical");
  await runTier("scheduled", "medium");
  await runTier("scheduled", "maintenance");
  await runTier("scheduled", "health");

  const status = await client.call<StatusBody>("GET", "monitoring/status");
  const health = await client.call<HealthReport>("GET", "monitoring/health");
  const apiHealth = await client.call("GET", "monitoring-api/health");
  const [snapshot] = await sql<HealthSnapshot[]>`
    select snapshot_id, snapshot_timestamp, overall_health_status, success_rate_percent,
      total_transactions_last_hour, monitoring_events_last_hour, open_critical_events,
      avg_processing_time_ms, details
    from system_health_snapshots order by snapshot_id desc limit 1`;
  const events = await liveEvents(sql);
  const figures = [];
  for (const pack of traffic) figures.push({ pack: pack.pack, figures: await pack.figures(sql) });
  return {
    traffic: figures,
    planted,
    cycles,
    status: status.body,
    health: { status: health.status, body: health.body },
    apiHealth: { status: apiHealth.status },
    snapshot: snapshot ?? null,
    events,
    check: checkPlanted(planted, events, traffic.map((pack) => pack.pack)),
  };
}

/**
 * Waits (up to `timeoutMs`) until every transaction that was running when our rows
 * committed has ended. The change feed reads only below that horizon, which is
 * what makes a late commit examined exactly once; on a busy server (the test suite
 * shares one) a cycle would otherwise pick the rows up one cycle later.
 */
async function waitForHorizon(sql: Sql, timeoutMs = 30_000): Promise<void> {
  const [{ target }] = await sql<{ target: string }[]>`
    select pg_snapshot_xmax(pg_current_snapshot())::text as target`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [{ passed }] = await sql<{ passed: boolean }[]>`
      select pg_snapshot_xmin(pg_current_snapshot()) >= ${target}::xid8 as passed`;
    if (passed) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** True when every cycle ran, every planted anomaly was found and nothing else was flagged. */
export function demoSucceeded(outcome: DemoOutcome): boolean {
  return outcome.check.ok &&
    outcome.cycles.every((cycle) => cycle.status === 200 && cycle.summary?.status === "ok") &&
    outcome.health.status === 200;
}
