import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { PACKS } from "../src/detectors/registry.ts";
import { allConfigSpecs } from "../src/config/all_specs.ts";
import { seedRuntimeConfig } from "../src/config/runtime_config.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { cycle, openEvents, outcomeOf, setup } from "./_helpers/app.ts";
import {
  ago,
  middayTimeZone,
  spread,
  testStateDetector,
  tuneDetector,
} from "./_helpers/state_detector_cases.ts";
import { insertApiCalls, insertAudit, insertRequests } from "./_helpers/exchange_data.ts";
import type { RequestInput } from "./_helpers/exchange_data.ts";
import { exchangeTraffic } from "../src/demo/exchange_traffic.ts";
import { checkPlanted, liveEvents } from "../src/demo/planted_check.ts";

const HOUR = 60;
const DAY_MS = 86_400_000;

/** `count` requests over the last `minutes`, oldest first, with the status `pick` gives. */
function requests(
  count: number,
  pick: (i: number) => RequestInput["status"],
  minutes = HOUR,
  shiftMs = 0,
): RequestInput[] {
  return spread(count, minutes).map((at, i) => ({
    at: new Date(at.getTime() - shiftMs),
    status: pick(i),
  }));
}

/** `count` calls to `endpoint` over the last `minutes`, with status and latency by index. */
function calls(
  endpoint: string,
  count: number,
  pick: (i: number) => { status?: number; ms?: number },
  minutes = HOUR,
) {
  return spread(count, minutes).map((at, i) => ({
    endpoint,
    at,
    status: pick(i).status ?? 200,
    ms: pick(i).ms ?? 120,
  }));
}

testStateDetector({
  detector: "exchange_success_rate",
  pack: "exchange",
  // 40 finished requests over the hour: 20 in each half-hour bucket.
  breach: (sql) => insertRequests(sql, requests(40, (i) => i % 10 === 0 ? "failed" : "completed")),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].severity, "HIGH");
    assert.equal(events[0].context.success_rate, 90);
    assert.equal(events[0].context.finished, 40);
  },
  // One failure per half: exactly 95 %, and pending requests do not count at all.
  nearMiss: async (sql) => {
    await insertRequests(sql, requests(40, (i) => i % 20 === 0 ? "failed" : "completed"));
    await insertRequests(sql, requests(10, () => "pending"));
  },
  belowMinimum: (sql) => insertRequests(sql, requests(10, (i) => i % 2 ? "failed" : "completed")),
  // 90 % over the hour, but all four failures in the last half-hour: not held for the hour.
  notHeld: (sql) =>
    insertRequests(sql, requests(40, (i) => i >= 20 && i % 5 === 0 ? "failed" : "completed")),
  healthy: (sql) => insertRequests(sql, requests(40, () => "completed")),
  tune: { threshold_percent: 96 },
});

testStateDetector({
  detector: "fallback_rate",
  pack: "exchange",
  config: { time_zone: middayTimeZone() },
  breach: (sql) => insertRequests(sql, requests(20, (i) => i % 4 === 0 ? "fallback" : "completed")),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].severity, "CRITICAL");
    assert.match(events[0].title, /Fallback rate 25% in the last hour \(5\/20/);
  },
  // 20 % in the hour (not above 20), and 4 of 50 (8 %) over the day.
  nearMiss: async (sql) => {
    await insertRequests(sql, requests(20, (i) => i % 5 === 0 ? "fallback" : "completed"));
    await insertRequests(sql, requests(30, () => "completed", HOUR, 2 * 3_600_000));
  },
  belowMinimum: (sql) => insertRequests(sql, requests(10, (i) => i % 2 ? "fallback" : "completed")),
  healthy: (sql) => insertRequests(sql, requests(20, () => "completed")),
  tune: { hour_threshold_percent: 19 },
});

Deno.test("fallback_rate raises HIGH for a day above 10 % and escalates the same event to CRITICAL", async () => {
  const db = await exchangeDatabase();
  try {
    await tuneDetector(db.sql, "fallback_rate", { time_zone: middayTimeZone() });
    // Earlier today: 6 of 20 fell back; the last hour is clean (0 of 20).
    await insertRequests(
      db.sql,
      requests(20, (i) => i % 3 === 0 && i < 18 ? "fallback" : "completed", HOUR, 3 * 3_600_000),
    );
    await insertRequests(db.sql, requests(20, () => "completed"));
    await cycle(db.sql, { tier: "medium", detectors: ["fallback_rate"] });
    const [day] = await openEvents(db.sql, "fallback_rate");
    assert.equal(day.severity, "HIGH");
    assert.match(day.title, /today \(6\/40/);

    await insertRequests(db.sql, requests(10, () => "fallback", 30));
    await cycle(db.sql, { tier: "medium", detectors: ["fallback_rate"] });
    const [hour] = await openEvents(db.sql, "fallback_rate");
    assert.equal(hour.event_id, day.event_id);
    assert.equal(hour.severity, "CRITICAL");
  } finally {
    await db.drop();
  }
});

testStateDetector({
  detector: "api_latency",
  pack: "exchange",
  // 30 calls over 15 minutes: 10 in each 5-minute bucket.
  breach: (sql) =>
    insertApiCalls(sql, [
      ...calls("/api/quote", 30, () => ({ ms: 2500 }), 15),
      ...calls("/api/swap", 30, () => ({ ms: 3500 }), 15),
      ...calls("/api/health", 30, () => ({ ms: 40 }), 15),
    ]),
  expectBreach(events) {
    const byEndpoint = Object.fromEntries(events.map((e) => [e.context.endpoint, e]));
    assert.deepEqual(Object.keys(byEndpoint).sort(), ["/api/quote", "/api/swap"]);
    assert.equal(byEndpoint["/api/quote"].severity, "HIGH");
    assert.equal(byEndpoint["/api/swap"].severity, "CRITICAL");
    assert.equal(byEndpoint["/api/quote"].context.sustained_p95, 2500);
    assert.equal((byEndpoint["/api/swap"].context.by_bucket as unknown[]).length, 3);
  },
  nearMiss: (sql) => insertApiCalls(sql, calls("/api/quote", 30, () => ({ ms: 1990 }), 15)),
  // Five calls a bucket, 15 in all: under the 20 (and 7 per bucket) a p95 needs.
  belowMinimum: (sql) => insertApiCalls(sql, calls("/api/quote", 15, () => ({ ms: 5000 }), 15)),
  // Slow for the last ten minutes only: the oldest bucket was fast.
  notHeld: (sql) =>
    insertApiCalls(sql, calls("/api/quote", 30, (i) => ({ ms: i < 10 ? 100 : 4000 }), 15)),
  healthy: (sql) =>
    insertApiCalls(sql, [
      ...calls("/api/quote", 30, () => ({ ms: 150 }), 15),
      ...calls("/api/swap", 30, () => ({ ms: 150 }), 15),
    ]),
  tune: { threshold_ms: 1900 },
});

testStateDetector({
  detector: "endpoint_error_rate",
  pack: "exchange",
  breach: (sql) =>
    insertApiCalls(sql, [
      ...calls("/api/exchange", 20, (i) => ({ status: i % 10 === 0 ? 503 : 200 })),
      ...calls("/api/quote", 20, () => ({ status: 200 })),
    ]),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].context.endpoint, "/api/exchange");
    assert.equal(events[0].context.error_rate, 10);
  },
  // 2 server errors in 40 requests is 5 %; client errors (404) are not server errors.
  nearMiss: (sql) =>
    insertApiCalls(
      sql,
      calls("/api/exchange", 40, (i) => ({ status: i % 20 === 0 ? 500 : i % 4 === 1 ? 404 : 200 })),
    ),
  belowMinimum: (sql) =>
    insertApiCalls(sql, calls("/api/exchange", 10, (i) => ({ status: i % 2 ? 500 : 200 }))),
  healthy: (sql) => insertApiCalls(sql, calls("/api/exchange", 20, () => ({ status: 200 }))),
  tune: { threshold_percent: 4 },
});

testStateDetector({
  detector: "consecutive_api_failures",
  pack: "exchange",
  breach: (sql) =>
    insertApiCalls(sql, [
      { endpoint: "/api/exchange", status: 200, at: ago(50) },
      { endpoint: "/api/exchange", status: 503, at: ago(40) },
      { endpoint: "/api/exchange", status: 502, at: ago(30) },
      { endpoint: "/api/exchange", status: 500, at: ago(20) },
      // Failed three times, then recovered: not down.
      { endpoint: "/api/quote", status: 500, at: ago(50) },
      { endpoint: "/api/quote", status: 500, at: ago(40) },
      { endpoint: "/api/quote", status: 500, at: ago(30) },
      { endpoint: "/api/quote", status: 200, at: ago(20) },
    ]),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].severity, "CRITICAL");
    assert.equal(events[0].context.endpoint, "/api/exchange");
    assert.equal(events[0].context.streak, 3);
    assert.deepEqual(events[0].context.status_codes, [500, 502, 503]);
  },
  nearMiss: (sql) =>
    insertApiCalls(sql, [
      { endpoint: "/api/exchange", status: 200, at: ago(50) },
      { endpoint: "/api/exchange", status: 503, at: ago(40) },
      { endpoint: "/api/exchange", status: 503, at: ago(30) },
    ]),
  belowMinimum: (sql) =>
    insertApiCalls(sql, [
      { endpoint: "/api/new", status: 503, at: ago(40) },
      { endpoint: "/api/new", status: 503, at: ago(30) },
    ]),
  healthy: (sql) => insertApiCalls(sql, [{ endpoint: "/api/exchange", status: 200, at: ago(10) }]),
  tune: { min_failures: 2 },
});

/** `count` contract calls over the last hour, failing where `failed(i)`. */
function contractCalls(count: number, failed: (i: number) => boolean) {
  return spread(count, HOUR).map((at, i) => ({
    action: "contract_call",
    status: failed(i) ? "error" as const : "success" as const,
    at,
    details: failed(i) ? { error: "execution reverted" } : { tx_hash: `0x${i}` },
  }));
}

testStateDetector({
  detector: "contract_call_failures",
  pack: "exchange",
  breach: (sql) => insertAudit(sql, contractCalls(20, (i) => i % 7 === 0)),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].context.failure_rate, 15);
    assert.deepEqual(events[0].context.top_errors, [{ error: "execution reverted", calls: 3 }]);
  },
  // 2 of 20 is 10 %; failed exchanges that are not contract calls do not count.
  nearMiss: async (sql) => {
    await insertAudit(sql, contractCalls(20, (i) => i % 10 === 0));
    await insertAudit(
      sql,
      spread(10, HOUR).map((at) => ({ action: "exchange_failed", status: "error" as const, at })),
    );
  },
  belowMinimum: (sql) => insertAudit(sql, contractCalls(10, (i) => i % 2 === 0)),
  healthy: (sql) => insertAudit(sql, contractCalls(20, () => false)),
  tune: { threshold_percent: 9 },
});

/**
 * Priced contract calls: `perDay` calls of `baselineCost` at this time of day on each
 * of the previous 7 days (plus expensive calls later in those days, which a like-for-like
 * comparison must ignore), and `today` calls of `todayCost` in the last hour.
 */
function gasHistory(options: {
  today: number;
  todayCost: number | string;
  perDay?: number;
  baselineCost?: number;
  days?: number;
}) {
  return async (sql: Sql) => {
    const rows = [];
    for (let day = 1; day <= (options.days ?? 7); day++) {
      for (const at of spread(options.perDay ?? 20, 20)) {
        const when = new Date(at.getTime() - day * DAY_MS - 10 * 60_000);
        rows.push({
          action: "contract_call",
          status: "success" as const,
          at: when,
          details: {
            gas_cost: options.baselineCost ?? 0.01,
          },
        });
      }
      for (let i = 0; i < 5; i++) {
        const evening = new Date(Date.now() - day * DAY_MS + 6 * 3_600_000 + i * 60_000);
        rows.push({
          action: "contract_call",
          status: "success" as const,
          at: evening,
          details: {
            gas_cost: 1,
          },
        });
      }
    }
    for (const at of spread(options.today, HOUR)) {
      rows.push({
        action: "contract_call",
        status: "success" as const,
        at,
        details: {
          gas_cost: options.todayCost,
        },
      });
    }
    await insertAudit(sql, rows);
  };
}

testStateDetector({
  detector: "gas_cost_spike",
  pack: "exchange",
  // Evaluated at every run: each scenario rewrites the week within one slot.
  config: { time_zone: middayTimeZone(), slot_minutes: 0 },
  breach: gasHistory({ today: 20, todayCost: 0.025 }),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].severity, "MEDIUM");
    assert.equal(events[0].context.today_gas_cost, 0.5);
    assert.equal(events[0].context.baseline_average, 0.2);
    assert.equal(events[0].context.ratio, 2.5);
  },
  // Exactly twice the average (0.4 against 0.2): compared in numeric, not floats.
  nearMiss: async (sql) => {
    await gasHistory({ today: 20, todayCost: 0.02 })(sql);
    await insertAudit(sql, [{
      action: "contract_call",
      status: "success",
      at: ago(60),
      details: { gas_cost: "unknown" },
    }]);
  },
  belowMinimum: gasHistory({ today: 10, todayCost: 0.1 }),
  healthy: gasHistory({ today: 20, todayCost: 0.01 }),
  tune: { multiplier: 1.9 },
});

Deno.test("gas_cost_spike stays silent without enough baseline days", async () => {
  const db = await exchangeDatabase();
  try {
    await tuneDetector(db.sql, "gas_cost_spike", { time_zone: middayTimeZone(), slot_minutes: 0 });
    await gasHistory({ today: 20, todayCost: 1, days: 2 })(db.sql);
    await cycle(db.sql, { tier: "medium", detectors: ["gas_cost_spike"] });
    assert.equal((await openEvents(db.sql, "gas_cost_spike")).length, 0);
  } finally {
    await db.drop();
  }
});

/**
 * `perDay` distinct exchangers at this time of day on each of the previous 7 days
 * (plus more later in those days, which must not count), and `today` distinct
 * exchangers in the last hour, each with two requests.
 */
function engagementHistory(options: { today: number; perDay?: number }) {
  return async (sql: Sql) => {
    const rows: RequestInput[] = [];
    for (let day = 1; day <= 7; day++) {
      for (const at of spread(options.perDay ?? 20, 20)) {
        rows.push({ status: "completed", at: new Date(at.getTime() - day * DAY_MS - 600_000) });
      }
      for (let i = 0; i < 30; i++) {
        const evening = new Date(Date.now() - day * DAY_MS + 6 * 3_600_000 + i * 60_000);
        rows.push({ status: "completed", at: evening });
      }
    }
    for (let i = 0; i < options.today; i++) {
      const user = crypto.randomUUID();
      rows.push({ status: "completed", at: ago(300 + i * 60), user });
      rows.push({ status: "failed", at: ago(200 + i * 60), user });
    }
    await insertRequests(sql, rows);
  };
}

testStateDetector({
  detector: "engagement_drop",
  pack: "exchange",
  config: { time_zone: middayTimeZone(), slot_minutes: 0 },
  breach: engagementHistory({ today: 9 }),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].context.today_exchangers, 9);
    assert.equal(events[0].context.baseline_average, 20);
    assert.equal(events[0].context.percent_of_average, 45);
  },
  nearMiss: engagementHistory({ today: 10 }),
  // A platform averaging 10 exchangers at this hour is too small for a share to mean much.
  belowMinimum: engagementHistory({ today: 1, perDay: 10 }),
  healthy: engagementHistory({ today: 20 }),
  tune: { threshold_percent: 55 },
});

Deno.test("daily detectors evaluate once per slot, repeat the verdict within it, and re-evaluate when tuned", async () => {
  const db = await exchangeDatabase();
  try {
    // Hour-long slots, so both cycles below fall in the same one.
    await tuneDetector(db.sql, "gas_cost_spike", { time_zone: middayTimeZone(), slot_minutes: 60 });
    // The whole history is older than the current slot.
    await gasHistory({ today: 20, todayCost: 0.025 })(db.sql);
    await db.sql`update exchange_audit_log set "timestamp" = "timestamp" - interval '60 minutes'`;
    const first = await cycle(db.sql, { tier: "medium", detectors: ["gas_cost_spike"] });
    assert.equal(outcomeOf(first, "gas_cost_spike").new_events, 1);
    assert.ok(outcomeOf(first, "gas_cost_spike").rows_examined > 0);

    // Within the slot: no scan, same verdict, the event is kept open.
    const again = await cycle(db.sql, { tier: "medium", detectors: ["gas_cost_spike"] });
    assert.equal(outcomeOf(again, "gas_cost_spike").rows_examined, 0);
    assert.equal(outcomeOf(again, "gas_cost_spike").repeated_events, 1);

    // A tuned multiplier invalidates the verdict at once.
    await tuneDetector(db.sql, "gas_cost_spike", { multiplier: 3 });
    const tuned = await cycle(db.sql, { tier: "medium", detectors: ["gas_cost_spike"] });
    assert.ok(outcomeOf(tuned, "gas_cost_spike").rows_examined > 0);
    assert.equal(outcomeOf(tuned, "gas_cost_spike").resolved_events, 1);
  } finally {
    await db.drop();
  }
});

async function exchangeDatabase() {
  const db = await createTestDatabase();
  await createPlatformTables(db.sql, ["exchange"]);
  await setup(db.sql);
  await seedRuntimeConfig(db.sql, allConfigSpecs(PACKS));
  return db;
}

Deno.test("the exchange pack's setup builds the time indexes its windows read through", async () => {
  const db = await exchangeDatabase();
  try {
    const indexes = await db.sql<{ indexname: string }[]>`
      select indexname from pg_indexes
      where tablename in ('auto_exchange_requests', 'exchange_audit_log', 'api_metrics')
        and indexname like 'monitoring_%'
      order by 1`;
    assert.deepEqual(indexes.map((row) => row.indexname), [
      "monitoring_aer_created_idx",
      "monitoring_api_created_idx",
      "monitoring_api_endpoint_created_idx",
      "monitoring_eal_ts_idx",
    ]);
  } finally {
    await db.drop();
  }
});

Deno.test("the exchange pack is skipped with the missing tables named when they are absent", async () => {
  const db = await createTestDatabase();
  try {
    const summary = await cycle(db.sql, { tier: "medium", detectors: ["exchange_success_rate"] });
    const outcome = outcomeOf(summary, "exchange_success_rate");
    assert.equal(outcome.status, "skipped");
    assert.match(
      outcome.reason ?? "",
      /missing tables: auto_exchange_requests, fallback_conversion_requests, exchange_audit_log, api_metrics/,
    );
  } finally {
    await db.drop();
  }
});

Deno.test("exchangeTraffic() plants anomalies that become exactly their events, and nothing else", async () => {
  const db = await createTestDatabase();
  try {
    const traffic = exchangeTraffic();
    await traffic.createTables(db.sql);
    await setup(db.sql);
    const planted = await traffic.generate(db.sql, { now: new Date() });
    const summary = await cycle(db.sql, { tier: "medium" });
    assert.equal(summary.status, "ok");
    const check = checkPlanted(planted, await liveEvents(db.sql), ["exchange"]);
    assert.deepEqual(check.plants.filter((plant) => !plant.found).map((p) => p.anomaly.label), []);
    assert.deepEqual(check.unexpected.map((event) => event.title), []);
    assert.ok(planted.length >= 5);
    const figures = await traffic.figures(db.sql);
    assert.equal(figures[0].value, 8 * 1440 + 25);
  } finally {
    await db.drop();
  }
});
