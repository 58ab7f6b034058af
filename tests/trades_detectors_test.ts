import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { cycle, outcomeOf, setup } from "./_helpers/app.ts";
import { spread, testStateDetector } from "./_helpers/state_detector_cases.ts";
import { tradesTraffic } from "../src/demo/trades_traffic.ts";
import { checkPlanted, liveEvents } from "../src/demo/planted_check.ts";
import { insertFills, insertOrders, setTradesConfig } from "./_helpers/trades_data.ts";

/** `count` orders by `maker` over the last `minutes`, each with risk `risk`. */
function orders(maker: string, count: number, risk: number, minutes = 60) {
  return spread(count, minutes).map((at) => ({ maker, risk, at }));
}

testStateDetector({
  detector: "high_risk_order_volume",
  pack: "trades",
  breach: (sql) =>
    insertOrders(sql, [
      ...orders("0xaaa", 6, 75),
      ...orders("0xbbb", 5, 95),
      ...orders("0xccc", 30, 20),
    ]),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].context.orders, 11);
    assert.equal(events[0].context.makers, 2);
    assert.equal(events[0].context.max_risk, 95);
  },
  // Ten risky orders, and five at exactly 70 (not above it).
  nearMiss: (sql) => insertOrders(sql, [...orders("0xaaa", 10, 75), ...orders("0xbbb", 5, 70)]),
  // Eleven risky orders, but most of them more than an hour ago.
  notHeld: (sql) =>
    insertOrders(sql, [
      ...orders("0xaaa", 3, 90),
      ...orders("0xaaa", 8, 90).map((o) => ({ ...o, at: new Date(o.at.getTime() - 3_600_000) })),
    ]),
  healthy: (sql) => insertOrders(sql, orders("0xaaa", 3, 75)),
  tune: { max_orders: 9 },
});

/** `count` fills over the last hour, failed where `failed(i)`. */
function fills(count: number, failed: (i: number) => boolean) {
  return spread(count, 60).map((at, i) => ({
    at,
    status: failed(i) ? "failed" as const : "completed" as const,
  }));
}

testStateDetector({
  detector: "fill_failure_rate",
  pack: "trades",
  breach: (sql) => insertFills(sql, fills(20, (i) => i % 10 === 0)),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].context.failure_rate, 10);
    assert.equal(events[0].context.fills, 20);
  },
  // One failure in twenty finished fills is 5 %; pending fills have not decided.
  nearMiss: async (sql) => {
    await insertFills(sql, fills(20, (i) => i === 7));
    await insertFills(sql, spread(5, 60).map((at) => ({ at, status: "pending" as const })));
  },
  belowMinimum: (sql) => insertFills(sql, fills(10, (i) => i % 2 === 0)),
  healthy: (sql) => insertFills(sql, fills(20, () => false)),
  tune: { threshold_percent: 4 },
});

testStateDetector({
  detector: "suspicious_maker",
  pack: "trades",
  breach: (sql) =>
    insertOrders(sql, [
      ...orders("0xbusy", 11, 10, 120),
      ...orders("0xrisky", 3, 90, 120),
      ...orders("0xcalm", 4, 30, 120),
    ]),
  expectBreach(events) {
    const byMaker = Object.fromEntries(events.map((e) => [e.context.maker_address, e]));
    assert.deepEqual(Object.keys(byMaker).sort(), ["0xbusy", "0xrisky"]);
    assert.equal(byMaker["0xbusy"].title, "Maker 0xbusy: 11 orders in 120 min, average risk 10");
    assert.equal(byMaker["0xrisky"].title, "Maker 0xrisky: 3 orders in 120 min, average risk 90");
    assert.equal(byMaker["0xrisky"].severity, "MEDIUM");
  },
  // Ten orders in two hours, and an average risk of exactly 80.
  nearMiss: (sql) =>
    insertOrders(sql, [
      ...orders("0xbusy", 10, 10, 120),
      ...orders("0xrisky", 2, 70, 120),
      ...orders("0xrisky", 2, 90, 120),
    ]),
  // Two very risky orders are not yet a pattern of one maker.
  belowMinimum: (sql) => insertOrders(sql, orders("0xnew", 2, 99, 120)),
  // Eleven orders, but spread over three hours.
  notHeld: (sql) =>
    insertOrders(sql, [
      ...orders("0xbusy", 5, 10, 120),
      ...orders("0xbusy", 6, 10, 60).map((o) => ({
        ...o,
        at: new Date(o.at.getTime() - 2 * 3_600_000),
      })),
    ]),
  healthy: (sql) =>
    insertOrders(sql, [...orders("0xbusy", 2, 10, 120), ...orders("0xrisky", 3, 10, 120)]),
  tune: { max_orders: 9 },
});

testStateDetector({
  detector: "kill_switch_state",
  pack: "trades",
  breach: (sql) => setTradesConfig(sql, "TRADES_ENABLED", " False "),
  expectBreach(events) {
    assert.equal(events.length, 1);
    assert.equal(events[0].severity, "HIGH");
    assert.match(events[0].title, /^Trading is switched off \(TRADES_ENABLED = ' False ' since /);
  },
  // Switched on, and another flag that reads 'false' but is not the kill switch.
  nearMiss: async (sql: Sql) => {
    await setTradesConfig(sql, "TRADES_ENABLED", "true");
    await setTradesConfig(sql, "TRADES_PAUSED", "false");
  },
  healthy: (sql) => setTradesConfig(sql, "TRADES_ENABLED", "true"),
  tune: { key: "TRADES_PAUSED" },
});

Deno.test("kill_switch_state sees nothing when trades_config has no TRADES_ENABLED row", async () => {
  const db = await createTestDatabase();
  try {
    await createPlatformTables(db.sql, ["trades"]);
    const summary = await cycle(db.sql, { tier: "medium", detectors: ["kill_switch_state"] });
    const outcome = outcomeOf(summary, "kill_switch_state");
    assert.equal(outcome.status, "ok");
    assert.equal(outcome.findings, 0);
  } finally {
    await db.drop();
  }
});

Deno.test("the trades pack's setup builds its indexes, and the pack is skipped with a reason without its tables", async () => {
  const db = await createTestDatabase();
  try {
    const skipped = await cycle(db.sql, { tier: "medium", detectors: ["suspicious_maker"] });
    assert.equal(outcomeOf(skipped, "suspicious_maker").status, "skipped");
    assert.match(
      outcomeOf(skipped, "suspicious_maker").reason ?? "",
      /missing tables: trades_orders, trades_fills, trades_config/,
    );
    await createPlatformTables(db.sql, ["trades"]);
    await setup(db.sql);
    const indexes = await db.sql<{ indexname: string }[]>`
      select indexname from pg_indexes
      where tablename in ('trades_orders', 'trades_fills') and indexname like 'monitoring_%'
      order by 1`;
    assert.deepEqual(indexes.map((row) => row.indexname), [
      "monitoring_fills_created_idx",
      "monitoring_orders_created_idx",
    ]);
    const ran = await cycle(db.sql, { tier: "medium", detectors: ["suspicious_maker"] });
    assert.equal(outcomeOf(ran, "suspicious_maker").status, "ok");
  } finally {
    await db.drop();
  }
});

Deno.test("tradesTraffic() plants anomalies that become exactly their events, and nothing else", async () => {
  const db = await createTestDatabase();
  try {
    const traffic = tradesTraffic();
    await traffic.createTables(db.sql);
    await setup(db.sql);
    const planted = await traffic.generate(db.sql, { now: new Date() });
    const summary = await cycle(db.sql, { tier: "medium" });
    assert.equal(summary.status, "ok");
    const check = checkPlanted(planted, await liveEvents(db.sql), ["trades"]);
    assert.deepEqual(check.plants.filter((plant) => !plant.found).map((p) => p.anomaly.label), []);
    assert.deepEqual(check.unexpected.map((event) => event.title), []);
    assert.equal(planted.length, 5);
    const figures = Object.fromEntries(
      (await traffic.figures(db.sql)).map((f) => [f.label, f.value]),
    );
    assert.equal(figures["TRADES_ENABLED"], "false");
  } finally {
    await db.drop();
  }
});
