import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { setup, TEST_SERVICE_KEY } from "./_helpers/app.ts";
import type { Sql } from "../src/db/client.ts";
import { createAppContext } from "../src/app/context.ts";
import { createLogger } from "../src/log/logger.ts";
import { createMonitoringHandler } from "../src/functions/monitoring_handler.ts";
import { createMonitoringApiHandler } from "../src/functions/monitoring_api_handler.ts";
import { cardBalances } from "../src/detectors/festival/expected_balance.ts";
import { festivalTraffic } from "../src/demo/festival_traffic.ts";
import { loadFestivalLedger } from "../src/demo/festival_ledger.ts";
import { functionsClient } from "../src/demo/functions_client.ts";
import { demoSucceeded, runDemoScenario } from "../src/demo/demo_scenario.ts";
import { formatDemoReport } from "../src/demo/demo_report.ts";
import { checkPlanted } from "../src/demo/planted_check.ts";
import type { LiveEvent } from "../src/demo/planted_check.ts";
import { formatTable } from "../src/demo/text_table.ts";

/** Both functions behind a gateway-shaped loopback server, as the dev server routes them. */
function serveFunctions(sql: Sql, url: string) {
  const app = createAppContext({
    env: { SUPABASE_SERVICE_ROLE_KEY: TEST_SERVICE_KEY, DATABASE_URL: url },
    sql,
    log: createLogger(),
  });
  const monitoring = createMonitoringHandler(app);
  const api = createMonitoringApiHandler(app);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname.startsWith("/functions/v1/monitoring-api")
        ? api(request)
        : monitoring(request),
  );
  return { functionsUrl: `http://127.0.0.1:${server.addr.port}/functions/v1`, server };
}

Deno.test("runDemoScenario() turns every planted anomaly into exactly its events and flags no clean card", async () => {
  const db = await createTestDatabase();
  const { functionsUrl, server } = serveFunctions(db.sql, db.url);
  try {
    const traffic = festivalTraffic({ cards: 120, transactions: 1_500, hours: 4 });
    await traffic.createTables(db.sql);
    await setup(db.sql);
    const outcome = await runDemoScenario({
      sql: db.sql,
      client: functionsClient(functionsUrl, TEST_SERVICE_KEY),
      traffic: [traffic],
    });

    for (const cycle of outcome.cycles) {
      assert.equal(cycle.status, 200, `${cycle.tier} cycle answered ${cycle.status}`);
      assert.equal(cycle.summary?.status, "ok", `${cycle.tier} cycle`);
    }
    const missed = outcome.check.plants.filter((plant) => !plant.found);
    assert.deepEqual(missed.map((plant) => plant.anomaly.label), []);
    assert.deepEqual(outcome.check.unexpected.map((event) => event.title), []);
    assert.equal(outcome.planted.length, 8);

    // The live festival events are exactly the expected ones, one each, nothing more.
    const key = (detector: string, severity: string, subject: string | null) =>
      `${detector} ${severity} ${subject}`;
    const expected = outcome.planted.flatMap((plant) =>
      plant.expect.map((e) => key(e.detector, e.severity, e.subject))
    ).sort();
    const festival = outcome.events.filter((event) => event.pack === "festival")
      .map((event) => key(event.detector, event.severity, event.card_id)).sort();
    assert.deepEqual(festival, expected);

    // The late rows were found by the second critical cycle, through the change feed.
    const late = outcome.cycles[1].summary!;
    assert.equal(late.totals.new_events, 2);
    assert.ok(
      late.detectors.every((run) => run.rows_examined <= 6),
      "the second cycle reads only the synced rows",
    );
    assert.equal(outcome.health.status, 200);
    assert.equal(outcome.status.circuit_breaker.state, "closed");
    assert.equal(outcome.snapshot?.open_critical_events, 7);
    assert.ok(demoSucceeded(outcome));
    assert.match(formatDemoReport(outcome), /8\/8 planted anomalies found, no false positives/);
  } finally {
    await server.shutdown();
    await db.drop();
  }
});

Deno.test("loadFestivalLedger() writes clean traffic: balances match the ledger and never go negative", async () => {
  const db = await createTestDatabase();
  try {
    await festivalTraffic().createTables(db.sql);
    const counts = await loadFestivalLedger(db.sql, {
      cards: 40,
      transactions: 400,
      hours: 3,
      until: new Date(),
    });
    assert.equal(counts.cards, 40);
    assert.ok(counts.transactions >= 300 && counts.transactions <= 500, `${counts.transactions}`);
    assert.ok(counts.scans > counts.transactions / 2);
    const balances = await cardBalances(db.sql, null);
    assert.equal(balances.length, 40);
    assert.deepEqual(balances.filter((card) => Math.abs(card.difference) > 0.001), []);
    const [row] = await db.sql<{ negative: number; future: number; broken: number }[]>`
      select count(*) filter (where new_balance < 0)::int as negative,
        count(*) filter (where "timestamp" > now())::int as future,
        count(*) filter (where status = 'completed' and transaction_type = 'bar_order'
          and new_balance <> previous_balance - amount_involved)::int as broken
      from app_transaction_log`;
    assert.deepEqual(row, { negative: 0, future: 0, broken: 0 });
  } finally {
    await db.drop();
  }
});

Deno.test("checkPlanted() reports a missed plant, a duplicate match and an unplanted event", () => {
  const event = (id: number, detector: string, card: string, pack = "festival"): LiveEvent => ({
    event_id: id,
    detector,
    pack,
    severity: "CRITICAL",
    card_id: card,
    entity_id: card,
    title: `${detector} ${card}`,
    context: {},
    occurrence_count: 1,
  });
  const planted = [
    {
      pack: "festival",
      label: "found",
      expect: [{ detector: "d1", severity: "CRITICAL" as const, subject: "A" }],
    },
    {
      pack: "festival",
      label: "missed",
      expect: [{ detector: "d1", severity: "CRITICAL" as const, subject: "B" }],
    },
    {
      pack: "festival",
      label: "twice",
      expect: [{ detector: "d2", severity: "CRITICAL" as const, subject: "C" }],
    },
  ];
  const check = checkPlanted(planted, [
    event(1, "d1", "A"),
    event(2, "d2", "C"),
    event(3, "d2", "C"),
    event(4, "d1", "Z"),
    event(5, "system_health", "monitoring", "core"),
  ], ["festival"]);
  assert.deepEqual(check.plants.map((plant) => [plant.anomaly.label, plant.found]), [
    ["found", true],
    ["missed", false],
    ["twice", false],
  ]);
  assert.deepEqual(check.unexpected.map((e) => e.event_id), [4]);
  assert.equal(check.ok, false);
});

Deno.test("formatTable() aligns columns, numbers to the right", () => {
  const text = formatTable([{ header: "tier" }, { header: "ms", align: "right" }], [
    ["critical", 41],
    ["health", 7],
  ]);
  assert.equal(
    text,
    ["  tier      ms", "  --------  --", "  critical  41", "  health     7"].join("\n"),
  );
});
