import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { connect } from "../src/db/client.ts";
import {
  feedsOf,
  prefetchedReads,
  readFeeds,
  readFeedsAhead,
} from "../src/detectors/change_feed.ts";
import type { TestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { ago, insertScans, insertTransactions, setCards } from "./_helpers/festival_data.ts";
import { cycle, openEvents, outcomeOf, setup } from "./_helpers/app.ts";

async function festivalDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await createPlatformTables(db.sql, ["festival"]);
  await setup(db.sql);
  return db;
}

Deno.test("balance_deduction_on_failure finds a failed charge that took money, once", async () => {
  const db = await festivalDatabase();
  try {
    const [bad] = await insertTransactions(db.sql, [
      { card: "C1", type: "bar_order", status: "failed", amount: 12, previous: 50, next: 38 },
    ]);
    // Look-alikes: a failure that left the balance alone, a completed bar order.
    await insertTransactions(db.sql, [
      { card: "C2", type: "bar_order", status: "failed", amount: 12, previous: 50, next: 50 },
      { card: "C3", type: "bar_order", status: "completed", amount: 12, previous: 50, next: 38 },
    ]);
    const first = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(first, "balance_deduction_on_failure").new_events, 1);
    const events = await openEvents(db.sql, "balance_deduction_on_failure");
    assert.equal(events.length, 1);
    assert.equal(events[0].card_id, "C1");
    assert.equal(events[0].severity, "CRITICAL");
    assert.equal(events[0].context.deducted, 12);
    assert.equal(events[0].context.transaction_id, bad);

    const again = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(again, "balance_deduction_on_failure").rows_examined, 0);
    assert.equal((await openEvents(db.sql, "balance_deduction_on_failure")).length, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("incremental reads examine each new row once, including rows synced late with old timestamps", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" }); // first run: backfill, sets the watermark
    await insertTransactions(db.sql, Array.from({ length: 5 }, (_, i) => ({ card: `K${i}` })));
    const second = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(second, "balance_deduction_on_failure").rows_examined, 5);

    // An offline terminal syncs a failed charge from six hours ago.
    await insertTransactions(db.sql, [
      {
        card: "LATE",
        type: "bar_order",
        status: "failed",
        amount: 7,
        previous: 20,
        next: 13,
        at: ago(6 * 3600),
      },
    ]);
    const third = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    const outcome = outcomeOf(third, "balance_deduction_on_failure");
    assert.equal(outcome.rows_examined, 1);
    assert.equal(outcome.new_events, 1);
    const fourth = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(fourth, "balance_deduction_on_failure").rows_examined, 0);
  } finally {
    await db.drop();
  }
});

Deno.test("a row whose transaction commits after a cycle ran is still examined by the next one", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" });
    // Open a transaction that writes a bad row but does not commit yet.
    const writer = await db.sql.reserve();
    await writer`begin`;
    await writer`
      insert into app_transaction_log (card_id, transaction_type, status, amount_involved,
        previous_balance, new_balance, "timestamp")
      values ('SLOW', 'bar_order', 'failed', 5, 30, 25, now() - interval '1 minute')`;
    // Meanwhile other rows commit and a cycle runs past them.
    await insertTransactions(db.sql, [{ card: "FAST" }]);
    const during = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(during, "balance_deduction_on_failure").new_events, 0);
    await writer`commit`;
    writer.release();
    const after = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(after, "balance_deduction_on_failure").new_events, 1);
    const events = await openEvents(db.sql, "balance_deduction_on_failure");
    assert.deepEqual(events.map((e) => e.card_id), ["SLOW"]);
  } finally {
    await db.drop();
  }
});

Deno.test("a steady-state cycle reads its feeds once, ahead of its detectors, not once per detector", async () => {
  const db = await festivalDatabase();
  const statements: string[] = [];
  const counted = connect(db.url, { max: 2, onStatement: (text) => statements.push(text) });
  try {
    await cycle(counted, { tier: "critical" });
    await insertTransactions(db.sql, [
      { card: "P1", type: "bar_order", status: "failed", amount: 4, previous: 9, next: 5 },
    ]);
    statements.length = 0;
    const summary = await cycle(counted, { tier: "critical" });
    assert.equal(outcomeOf(summary, "balance_deduction_on_failure").rows_examined, 1);
    assert.equal(outcomeOf(summary, "balance_deduction_on_failure").new_events, 1);
    assert.equal(outcomeOf(summary, "consecutive_failures").rows_examined, 1);
    assert.equal(outcomeOf(summary, "balance_mismatch_detection").rows_examined, 1);
    // Three detectors read app_transaction_log from one position, one reads the scans.
    const feedReads = statements.filter((text) => text.includes("monitoring_changes c"));
    assert.equal(feedReads.length, 1, "one read of every feed, for the whole cycle");
    assert.match(feedReads[0], /monitoring_watermarks w/);
  } finally {
    await counted.end();
    await db.drop();
  }
});

Deno.test("a read-ahead serves only runs at the position it read from; the others read their own", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" });
    await insertTransactions(db.sql, [{ card: "Q1", amount: 4 }, { card: "Q2", amount: 5 }]);
    const keys = ["balance_deduction_on_failure"];
    const ahead = await readFeedsAhead(db.sql, { keys, limit: 100 });
    const [{ position }] = await db.sql<{ position: Record<string, unknown> }[]>`
      select position from monitoring_watermarks where detector_id = ${keys[0]}`;
    const stored = feedsOf(position);
    const tables = ["app_transaction_log"];
    const [read] = prefetchedReads(ahead, { tables, positions: stored, limit: 100 }) ?? [];
    assert.equal(read?.changes, 2);

    // A position another cycle moved, or another batch limit: not what was read ahead.
    const moved = { app_transaction_log: { ...stored.app_transaction_log, id: "999999" } };
    assert.equal(prefetchedReads(ahead, { tables, positions: moved, limit: 100 }), null);
    assert.equal(prefetchedReads(ahead, { tables, positions: stored, limit: 1 }), null);

    // Such a run reads its own feed (readChanges), to the same end.
    const [own] = await readFeeds(db.sql, {
      tables,
      positions: stored,
      horizon: ahead!.horizon,
      limit: 100,
    });
    assert.deepEqual(own, read);
  } finally {
    await db.drop();
  }
});

Deno.test("a transaction held open in another database does not delay detection here", async () => {
  const db = await festivalDatabase();
  const other = await createTestDatabase();
  const idle = await other.sql.reserve();
  try {
    await cycle(db.sql, { tier: "critical" });
    // Transaction ids are cluster-wide: this one is older than the row below.
    await idle`begin`;
    await idle`select pg_current_xact_id()`;
    await insertTransactions(db.sql, [
      { card: "NOW", type: "bar_order", status: "failed", amount: 4, previous: 9, next: 5 },
    ]);
    const summary = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_deduction_on_failure"],
    });
    assert.equal(outcomeOf(summary, "balance_deduction_on_failure").new_events, 1);
  } finally {
    await idle`rollback`;
    idle.release();
    await other.drop();
    await db.drop();
  }
});

Deno.test("balance_mismatch_detection flags a card whose amount disagrees with its ledger and resolves it when corrected", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" });
    await insertTransactions(db.sql, [
      { card: "OK", type: "stripe_recharge", amount: 50 },
      { card: "OK", type: "bar_order", amount: 20, previous: 50 },
      { card: "BAD", type: "checkpoint_recharge", amount: 40 },
      { card: "BAD", type: "bar_order", amount: 15, previous: 40 },
      { card: "BAD", type: "bar_order", status: "failed", amount: 99, previous: 25, next: 25 },
    ]);
    await setCards(db.sql, { OK: 30, BAD: 40 });
    const found = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_mismatch_detection"],
    });
    assert.equal(outcomeOf(found, "balance_mismatch_detection").new_events, 1);
    const [event] = await openEvents(db.sql, "balance_mismatch_detection");
    assert.equal(event.card_id, "BAD");
    assert.equal(event.context.expected_balance, 25);
    assert.equal(event.context.difference, 15);

    // A manual correction that brings the ledger to the card's amount fixes it.
    await insertTransactions(db.sql, [
      { card: "BAD", type: "manual_correction", amount: 15, previous: 25, next: 40 },
    ]);
    const fixed = await cycle(db.sql, {
      tier: "critical",
      detectors: ["balance_mismatch_detection"],
    });
    assert.equal(outcomeOf(fixed, "balance_mismatch_detection").resolved_events, 1);
    assert.equal((await openEvents(db.sql, "balance_mismatch_detection")).length, 0);
    const [resolved] = await db
      .sql`select status, resolution_notes, resolved_at from monitoring_events
      where detection_algorithm = 'balance_mismatch_detection'`;
    assert.equal(resolved.status, "RESOLVED");
    assert.match(resolved.resolution_notes, /reconciled/);
    assert.ok(resolved.resolved_at);
  } finally {
    await db.drop();
  }
});

Deno.test("the maintenance sweep finds mismatches on cards no recent row touched", async () => {
  const db = await festivalDatabase();
  try {
    await insertTransactions(db.sql, [{ card: "OLD", amount: 10, at: ago(10 * 86400) }]);
    await db
      .sql`insert into table_cards (id, amount, updated_at) values ('OLD', 11, now() - interval '10 days')`;
    await cycle(db.sql, { tier: "critical" }); // backfill window of 24 h does not reach it
    assert.equal((await openEvents(db.sql, "balance_mismatch_detection")).length, 0);
    const sweep = await cycle(db.sql, {
      tier: "maintenance",
      detectors: ["balance_mismatch_detection"],
    });
    const outcome = outcomeOf(sweep, "balance_mismatch_detection", "sweep");
    assert.equal(outcome.new_events, 1);
    assert.equal(outcome.rows_examined, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("consecutive_failures needs an unbroken streak within the window", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" });
    const failed = {
      type: "bar_order" as const,
      status: "failed" as const,
      amount: 5,
      previous: 10,
      next: 10,
    };
    await insertTransactions(db.sql, [
      // Streak: three failures within 4 minutes.
      { card: "S", ...failed, at: ago(300) },
      { card: "S", ...failed, at: ago(240) },
      { card: "S", ...failed, at: ago(60) },
      // Broken by a success in the middle.
      { card: "B", ...failed, at: ago(300) },
      { card: "B", type: "bar_order", amount: 5, previous: 10, at: ago(200) },
      { card: "B", ...failed, at: ago(100) },
      { card: "B", ...failed, at: ago(50) },
      // Three failures, but spread over 40 minutes.
      { card: "W", ...failed, at: ago(2400) },
      { card: "W", ...failed, at: ago(1200) },
      { card: "W", ...failed, at: ago(10) },
    ]);
    await cycle(db.sql, { tier: "critical", detectors: ["consecutive_failures"] });
    const events = await openEvents(db.sql, "consecutive_failures");
    assert.deepEqual(events.map((e) => e.card_id), ["S"]);
    assert.equal(events[0].context.failures, 3);

    // A fourth failure extends the same streak: the event is bumped, not duplicated.
    await insertTransactions(db.sql, [{ card: "S", ...failed, at: ago(5) }]);
    await cycle(db.sql, { tier: "critical", detectors: ["consecutive_failures"] });
    const bumped = await openEvents(db.sql, "consecutive_failures");
    assert.equal(bumped.length, 1);
    assert.equal(bumped[0].occurrence_count, 2);
    assert.equal(bumped[0].context.failures, 4);

    // A late-synced failure that lands between B's failures does not create a streak
    // (the success still breaks it), but one that completes W's run within the window does.
    await insertTransactions(db.sql, [{ card: "W", ...failed, at: ago(1100) }, {
      card: "W",
      ...failed,
      at: ago(1000),
    }]);
    await cycle(db.sql, { tier: "critical", detectors: ["consecutive_failures"] });
    assert.deepEqual((await openEvents(db.sql, "consecutive_failures")).map((e) => e.card_id), [
      "S",
      "W",
    ]);
  } finally {
    await db.drop();
  }
});

Deno.test("duplicate_nfc_scans pairs scans within 2 s and raises to HIGH when charged twice", async () => {
  const db = await festivalDatabase();
  try {
    await cycle(db.sql, { tier: "critical" });
    const t = Date.now() - 60_000;
    await insertScans(db.sql, [
      { card: "D", at: new Date(t) },
      { card: "D", at: new Date(t + 1200), reader: "bar-2" },
      // Seconds apart: not a duplicate.
      { card: "N", at: new Date(t) },
      { card: "N", at: new Date(t + 5000) },
      { card: "X", at: new Date(t) },
      { card: "X", at: new Date(t + 800) },
    ]);
    await insertTransactions(db.sql, [
      { card: "X", type: "bar_order", amount: 8, previous: 30, at: new Date(t + 100) },
      { card: "X", type: "bar_order", amount: 8, previous: 22, at: new Date(t + 900) },
    ]);
    await cycle(db.sql, { tier: "critical", detectors: ["duplicate_nfc_scans"] });
    const events = await openEvents(db.sql, "duplicate_nfc_scans");
    assert.deepEqual(events.map((e) => [e.card_id, e.severity]).sort(), [["D", "MEDIUM"], [
      "X",
      "HIGH",
    ]]);

    // A late-synced scan that pairs with an old one is found; re-runs add nothing.
    await insertScans(db.sql, [{ card: "N", at: new Date(t + 5500) }]);
    await cycle(db.sql, { tier: "critical", detectors: ["duplicate_nfc_scans"] });
    await cycle(db.sql, { tier: "critical", detectors: ["duplicate_nfc_scans"] });
    assert.equal((await openEvents(db.sql, "duplicate_nfc_scans")).length, 3);
  } finally {
    await db.drop();
  }
});

Deno.test("duplicate_nfc_scans finds pairs among fresh scans spread over an hour of busy traffic", async () => {
  const db = await festivalDatabase();
  try {
    const now = Date.now();
    // An hour of other cards' scans, and one of card Q fifty minutes ago, already read.
    await insertScans(
      db.sql,
      Array.from({ length: 60 }, (_, i) => ({ card: `B${i}`, at: new Date(now - i * 60_000) })),
    );
    await insertScans(db.sql, [{ card: "Q", at: new Date(now - 3_000_000) }]);
    await cycle(db.sql, { tier: "critical" });
    // Fresh: a live double scan of P, and Q's late-synced second scan 600 ms after its
    // first. Their stretch of time holds 60 other scans, more than 8 per fresh scan, so
    // each fresh scan is looked up in the card index rather than the stretch read.
    await insertScans(db.sql, [
      { card: "P", at: new Date(now - 1_000) },
      { card: "P", at: new Date(now - 400) },
      { card: "Q", at: new Date(now - 3_000_000 + 600) },
    ]);
    const summary = await cycle(db.sql, { tier: "critical", detectors: ["duplicate_nfc_scans"] });
    assert.equal(outcomeOf(summary, "duplicate_nfc_scans").rows_examined, 3);
    const events = await openEvents(db.sql, "duplicate_nfc_scans");
    assert.deepEqual(events.map((e) => e.card_id).sort(), ["P", "Q"]);
  } finally {
    await db.drop();
  }
});

Deno.test("a pack whose tables are missing is skipped with the reason, never a crash", async () => {
  const db = await createTestDatabase();
  try {
    const summary = await cycle(db.sql, { tier: "critical" });
    const outcome = outcomeOf(summary, "balance_mismatch_detection");
    assert.equal(outcome.status, "skipped");
    assert.match(
      outcome.reason ?? "",
      /missing tables: table_cards, app_transaction_log, nfc_scan_log/,
    );
    assert.equal(summary.status, "ok");
  } finally {
    await db.drop();
  }
});
