import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { ago, insertTransactions, setCards } from "./_helpers/festival_data.ts";
import { cycle, festivalDatabase, openEvents, outcomeOf, setup } from "./_helpers/app.ts";
import { packAvailability } from "../src/detectors/pack_status.ts";
import { festivalPack } from "../src/detectors/festival/pack.ts";

const DETECTOR = "balance_mismatch_detection";

/** One critical cycle of the balance check alone. */
async function check(sql: Sql) {
  const outcome = outcomeOf(
    await cycle(sql, { tier: "critical", detectors: [DETECTOR] }),
    DETECTOR,
  );
  assert.equal(outcome.status, "ok", outcome.error);
  return outcome;
}

/** Cards the last check recomputed from their whole history. */
const recomputed = (outcome: Awaited<ReturnType<typeof check>>) => outcome.report?.recomputed;

/** Live balance events as [card, expected balance, difference]. */
async function mismatches(sql: Sql) {
  return (await openEvents(sql, DETECTOR))
    .map((event) => [event.card_id, event.context.expected_balance, event.context.difference])
    .sort();
}

Deno.test("a card whose amount moves by what its new transactions add is checked from the feed alone", async () => {
  const db = await festivalDatabase();
  try {
    await insertTransactions(db.sql, [{ card: "A", amount: 50 }]);
    await setCards(db.sql, { A: 50 });
    await check(db.sql); // first run: the backfill window is judged in full

    await insertTransactions(db.sql, [
      { card: "A", type: "bar_order", amount: 8, previous: 50 },
      { card: "A", type: "bar_order", status: "failed", amount: 99, previous: 42, next: 42 },
    ]);
    await setCards(db.sql, { A: 42 });
    const outcome = await check(db.sql);
    assert.deepEqual([outcome.rows_examined, recomputed(outcome), outcome.new_events], [1, 0, 0]);
    // Nothing new: nothing examined.
    assert.equal((await check(db.sql)).rows_examined, 0);
  } finally {
    await db.drop();
  }
});

Deno.test("a card amount changed without a transaction is recomputed and flagged", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "C", amount: 40 }]);
    await setCards(db.sql, { C: 40 });
    await check(db.sql);
    await setCards(db.sql, { C: 55 }); // money from nowhere
    const outcome = await check(db.sql);
    assert.deepEqual([outcome.new_events, recomputed(outcome)], [1, 1]);
    assert.deepEqual(await mismatches(db.sql), [["C", 40, 15]]);
  } finally {
    await db.drop();
  }
});

Deno.test("updated transactions recompute their card: pending to completed, an amount corrected, inserted and updated in one cycle", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    const [pending] = await insertTransactions(db.sql, [
      { card: "P", amount: 30, status: "pending" },
    ]);
    const [wrong] = await insertTransactions(db.sql, [{ card: "W", amount: 25 }]);
    await setCards(db.sql, { P: 30, W: 20 });
    await check(db.sql);
    assert.deepEqual(await mismatches(db.sql), [["P", 0, 30], ["W", 25, -5]]);

    // The platform completes the recharge and corrects the mistyped amount.
    await db
      .sql`update app_transaction_log set status = 'completed' where transaction_id = ${pending}`;
    await db
      .sql`update app_transaction_log set amount_involved = 20 where transaction_id = ${wrong}`;
    const fixed = await check(db.sql);
    assert.deepEqual([fixed.resolved_events, recomputed(fixed)], [2, 2]);

    // Inserted as pending and completed before the next cycle: counted once.
    const [both] = await insertTransactions(db.sql, [
      { card: "P", type: "bar_order", amount: 5, previous: 30, status: "pending" },
    ]);
    await db
      .sql`update app_transaction_log set status = 'completed' where transaction_id = ${both}`;
    await setCards(db.sql, { P: 25 });
    assert.equal((await check(db.sql)).new_events, 0);
    assert.deepEqual(await mismatches(db.sql), []);
  } finally {
    await db.drop();
  }
});

Deno.test("a transaction moved to another card recomputes both cards", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    const [misfiled] = await insertTransactions(db.sql, [{ card: "X", amount: 15 }]);
    await setCards(db.sql, { X: 15, Y: 0 });
    await check(db.sql);
    // The recharge belonged to Y: moving it leaves X with money its ledger no longer has.
    await db.sql`update app_transaction_log set card_id = 'Y' where transaction_id = ${misfiled}`;
    const moved = await check(db.sql);
    assert.deepEqual([moved.rows_examined, recomputed(moved)], [2, 2]);
    assert.deepEqual(await mismatches(db.sql), [["X", 0, 15], ["Y", 15, -15]]);
    await setCards(db.sql, { X: 0, Y: 15 });
    assert.equal((await check(db.sql)).resolved_events, 2);
  } finally {
    await db.drop();
  }
});

Deno.test("a card already off stays flagged through balanced changes until its amount is right", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "O", amount: 20 }]);
    await setCards(db.sql, { O: 25 });
    await check(db.sql);
    assert.deepEqual(await mismatches(db.sql), [["O", 20, 5]]);

    // A recharge that moves the amount by as much keeps the card 5 off.
    await insertTransactions(db.sql, [{ card: "O", amount: 10, previous: 25 }]);
    await setCards(db.sql, { O: 35 });
    const still = await check(db.sql);
    assert.deepEqual([still.new_events, still.resolved_events, recomputed(still)], [0, 0, 1]);
    assert.deepEqual(await mismatches(db.sql), [["O", 30, 5]]);

    await setCards(db.sql, { O: 30 });
    assert.equal((await check(db.sql)).resolved_events, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("a late-synced transaction with an old timestamp is judged when it arrives", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "L", amount: 60 }]);
    await setCards(db.sql, { L: 60 });
    await check(db.sql);
    // An offline bar terminal syncs an order from five hours ago; the card was charged then.
    await insertTransactions(db.sql, [
      { card: "L", type: "bar_order", amount: 12, previous: 60, at: ago(5 * 3600) },
    ]);
    assert.equal((await check(db.sql)).new_events, 1, "the card still holds 60");
    assert.deepEqual(await mismatches(db.sql), [["L", 48, 12]]);
    await setCards(db.sql, { L: 48 });
    assert.equal((await check(db.sql)).resolved_events, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("a transaction and its card update read in different cycles raise no alarm", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await db.sql`
      update monitoring_config set value = jsonb_set(value, '{change_batch_size}', '1')
      where key = 'cycle'`;
    // One feed change per table per cycle: the first read pairs A's transaction with
    // B's card update, so both cards' deltas disagree until the next read.
    await insertTransactions(db.sql, [{ card: "A", amount: 10 }, { card: "B", amount: 20 }]);
    await setCards(db.sql, { B: 20 });
    await setCards(db.sql, { A: 10 });
    const split = await check(db.sql);
    assert.deepEqual([split.new_events, recomputed(split)], [0, 2]);
    await check(db.sql);
    assert.deepEqual(await mismatches(db.sql), []);
  } finally {
    await db.drop();
  }
});

Deno.test("rows committed past the horizon are judged once they are read, on the first run or later", async () => {
  const db = await festivalDatabase();
  const other = await db.sql.reserve();
  try {
    await insertTransactions(db.sql, [{ card: "F", amount: 20, at: ago(600) }]);
    await setCards(db.sql, { F: 20, G: 0 });
    // An older transaction holds the horizon back while newer ones commit: the first
    // run's backfill sees them, and the feed hands them out again later.
    await other`begin`;
    await other`select pg_current_xact_id()`;
    await insertTransactions(db.sql, [{ card: "F", amount: 5 }, { card: "G", amount: 7 }]);
    await setCards(db.sql, { F: 25, G: 7 });
    assert.equal((await check(db.sql)).new_events, 0);
    await other`commit`;
    const next = await check(db.sql);
    assert.deepEqual([next.rows_examined, next.new_events, recomputed(next)], [2, 0, 0]);

    await other`begin`;
    await other`select pg_current_xact_id()`;
    await insertTransactions(db.sql, [{ card: "F", type: "bar_order", amount: 3, previous: 25 }]);
    await setCards(db.sql, { F: 22 });
    assert.equal((await check(db.sql)).rows_examined, 0, "behind the horizon: read next cycle");
    await other`commit`;
    const after = await check(db.sql);
    assert.deepEqual([after.rows_examined, after.new_events], [1, 0]);
  } finally {
    other.release();
    await db.drop();
  }
});

Deno.test("a deleted transaction, which the feed does not see, is found by the maintenance sweep", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "D", amount: 10 }, { card: "D", amount: 4 }]);
    await setCards(db.sql, { D: 14 });
    await check(db.sql);
    await db.sql`delete from app_transaction_log where card_id = 'D' and amount_involved = 4`;
    assert.equal((await check(db.sql)).rows_examined, 0);

    const sweep = await cycle(db.sql, { tier: "maintenance", detectors: [DETECTOR] });
    const outcome = outcomeOf(sweep, DETECTOR, "sweep");
    assert.deepEqual([outcome.rows_examined, outcome.new_events], [1, 1]);
    assert.deepEqual(await mismatches(db.sql), [["D", 10, 4]]);

    // The card follows the deletion: its live event makes the next touch a recompute.
    await setCards(db.sql, { D: 10 });
    assert.equal((await check(db.sql)).resolved_events, 1);
  } finally {
    await db.drop();
  }
});

Deno.test("changes captured without values (triggers from before they were kept) are recomputed", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    // What an installed platform has until setup runs again: keys only.
    await db.sql`select monitoring_install_capture('app_transaction_log', 'transaction_id')`;
    await db.sql`select monitoring_install_capture('table_cards', 'id')`;
    await insertTransactions(db.sql, [{ card: "K", amount: 9 }, { card: "M", amount: 3 }]);
    await setCards(db.sql, { K: 9, M: 4 });
    const outcome = await check(db.sql);
    assert.deepEqual([outcome.rows_examined, recomputed(outcome)], [2, 2]);
    assert.deepEqual(await mismatches(db.sql), [["M", 3, 1]]);
    const { warnings } = await packAvailability(db.sql, festivalPack, {});
    assert.match(warnings.join("\n"), /app_transaction_log, table_cards keeps keys only/);

    // Setup reinstalls the capture with values: the warning goes, deltas are read again.
    await setup(db.sql);
    assert.deepEqual((await packAvailability(db.sql, festivalPack, {})).warnings, []);
    await insertTransactions(db.sql, [{ card: "K", amount: 1, previous: 9 }]);
    await setCards(db.sql, { K: 10 });
    const after = await check(db.sql);
    assert.deepEqual([after.rows_examined, recomputed(after)], [1, 0]);
  } finally {
    await db.drop();
  }
});

Deno.test("monitoring_changes keeps the operation and the named columns' new and old values", async () => {
  const db = await createTestDatabase();
  try {
    await db.sql`create table captured (id int primary key, v int, note text)`;
    await db.sql`select monitoring_install_capture('captured', 'id', array['v'])`;
    await db.sql`insert into captured values (1, 1, 'a'), (2, 2, 'b')`;
    await db.sql`update captured set v = 3 where id = 2`;
    await db.sql`update captured set id = 4 where id = 1`; // a new key: no old row under it
    await db.sql`select monitoring_install_capture('captured', 'id')`; // keys only
    await db.sql`insert into captured values (5, 5, 'e')`;
    const rows = await db.sql`
      select row_pk, op, new_values, old_values from monitoring_changes
      where source_table = 'captured' order by change_id`;
    assert.deepEqual(rows.map((r) => [r.row_pk, r.op, r.new_values, r.old_values]), [
      ["1", "INSERT", { v: 1 }, null],
      ["2", "INSERT", { v: 2 }, null],
      ["2", "UPDATE", { v: 3 }, { v: 2 }],
      ["4", "UPDATE", { v: 1 }, null],
      ["5", "INSERT", null, null],
    ]);
  } finally {
    await db.drop();
  }
});

Deno.test("a feed read crossing change ids of more digits (99 -> 100) hands each change out once", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    // One statement, 120 changes: the ids run through 9 -> 10 and 99 -> 100, where text
    // order ('99' > '100') once left the last change for the next read, counted twice.
    await insertTransactions(
      db.sql,
      Array.from(
        { length: 120 },
        () => ({ card: "N", type: "stripe_recharge" as const, amount: 1 }),
      ),
    );
    await setCards(db.sql, { N: 120 });
    const first = await check(db.sql);
    assert.deepEqual([first.rows_examined, first.new_events], [1, 0]);
    assert.equal((await check(db.sql)).rows_examined, 0);
  } finally {
    await db.drop();
  }
});
