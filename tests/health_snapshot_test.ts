import assert from "node:assert/strict";
import { gradeHealth } from "../src/health/snapshot.ts";
import { healthConfig } from "../src/config/core_config.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { ago, insertTransactions } from "./_helpers/festival_data.ts";
import { cycle, openEvents, outcomeOf } from "./_helpers/app.ts";

const OPS_GUIDE = healthConfig.schema.parse({});

const CASES: {
  success: number | null;
  ms: number | null;
  open: number;
  status: "HEALTHY" | "WARNING" | "CRITICAL";
}[] = [
  { success: null, ms: null, open: 0, status: "HEALTHY" },
  // Success rate: below 98 % warns, below 95 % is critical.
  { success: 100, ms: 100, open: 0, status: "HEALTHY" },
  { success: 98, ms: 100, open: 0, status: "HEALTHY" },
  { success: 97.9, ms: 100, open: 0, status: "WARNING" },
  { success: 95, ms: 100, open: 0, status: "WARNING" },
  { success: 94.9, ms: 100, open: 0, status: "CRITICAL" },
  // Detection time: above 5 s warns, above 10 s is critical.
  { success: 100, ms: 5000, open: 0, status: "HEALTHY" },
  { success: 100, ms: 5001, open: 0, status: "WARNING" },
  { success: 100, ms: 10_000, open: 0, status: "WARNING" },
  { success: 100, ms: 10_001, open: 0, status: "CRITICAL" },
  // Open critical events: 1-2 warn, above 3 is critical.
  { success: 100, ms: 100, open: 1, status: "WARNING" },
  { success: 100, ms: 100, open: 2, status: "WARNING" },
  { success: 100, ms: 100, open: 3, status: "WARNING" },
  { success: 100, ms: 100, open: 4, status: "CRITICAL" },
  // The worst check wins.
  { success: 97, ms: 12_000, open: 1, status: "CRITICAL" },
];

Deno.test("gradeHealth() applies the ops guide's thresholds", () => {
  for (const { success, ms, open, status } of CASES) {
    const graded = gradeHealth(
      { success_rate_percent: success, avg_processing_time_ms: ms, open_critical_events: open },
      OPS_GUIDE,
    );
    assert.equal(graded.status, status, `success ${success}, ${ms} ms, ${open} open critical`);
    assert.equal(graded.reasons.length === 0, status === "HEALTHY");
  }
});

Deno.test("gradeHealth() lists critical reasons before warnings", () => {
  const graded = gradeHealth(
    { success_rate_percent: 97, avg_processing_time_ms: 12_000, open_critical_events: 1 },
    OPS_GUIDE,
  );
  assert.deepEqual(graded.reasons, [
    "detection takes 12000 ms",
    "success rate 97.0%",
    "1 open critical events",
  ]);
});

Deno.test("each health cycle writes a snapshot and updates the one live system_health event", async () => {
  const db = await createTestDatabase();
  try {
    await createPlatformTables(db.sql, ["festival"]);
    // 48 completed and 2 failed in the last hour: 96 %, a warning; older rows do not count.
    await insertTransactions(db.sql, [
      ...Array.from({ length: 48 }, (_, i) => ({ card: `C${i}`, at: ago(600) })),
      ...Array.from({ length: 2 }, (_, i) => ({
        card: `F${i}`,
        status: "failed" as const,
        at: ago(300),
      })),
      { card: "OLD", status: "failed" as const, at: ago(2 * 3600) },
    ]);

    const first = await cycle(db.sql, { tier: "health" });
    assert.equal(outcomeOf(first, "system_health").new_events, 1);
    const [snapshot] = await db.sql`
      select * from system_health_snapshots order by snapshot_id desc limit 1`;
    assert.equal(snapshot.overall_health_status, "WARNING");
    assert.equal(snapshot.success_rate_percent, 96);
    assert.equal(snapshot.total_transactions_last_hour, 50);
    assert.equal(snapshot.open_critical_events, 0);
    assert.deepEqual(snapshot.details.reasons, ["success rate 96.0%"]);
    assert.deepEqual(snapshot.details.festival, { total: 50, completed: 48, failed: 2 });

    // The failures were refunded and voided: the next snapshot is healthy again.
    await db.sql`delete from app_transaction_log where status = 'failed'`;
    const second = await cycle(db.sql, { tier: "health" });
    assert.equal(outcomeOf(second, "system_health").new_events, 0);
    assert.equal(outcomeOf(second, "system_health").repeated_events, 1);
    const [{ snapshots }] = await db.sql`
      select count(*)::int as snapshots from system_health_snapshots`;
    assert.equal(snapshots, 2);
    const live = await openEvents(db.sql, "system_health");
    assert.equal(live.length, 1);
    assert.equal(live[0].occurrence_count, 2);
    assert.equal(live[0].severity, "LOW");
    assert.equal(live[0].title, "System health HEALTHY: all checks pass");
    assert.equal(live[0].context.overall_health_status, "HEALTHY");
  } finally {
    await db.drop();
  }
});
