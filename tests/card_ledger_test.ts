import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { ago, insertTransactions, setCards } from "./_helpers/festival_data.ts";
import { cycle, festivalDatabase, openEvents, outcomeOf } from "./_helpers/app.ts";
import { cardBalances } from "../src/detectors/festival/expected_balance.ts";

const DETECTOR = "balance_mismatch_detection";

/** One critical cycle of the balance check alone. */
async function check(sql: Sql) {
  return outcomeOf(await cycle(sql, { tier: "critical", detectors: [DETECTOR] }), DETECTOR);
}

/** The running ledger's row for a card, or undefined. */
async function ledgerOf(sql: Sql, card: string) {
  const [row] = await sql<{ expected_balance: number; transactions: number }[]>`
    select expected_balance, transactions from monitoring_card_ledger where card_id = ${card}`;
  return row;
}

/** Asserts every ledger row equals a full recompute of its card's history. */
async function assertLedgerExact(sql: Sql) {
  const ledger = await sql<{ card_id: string; expected_balance: number; transactions: number }[]>`
    select card_id, expected_balance, transactions from monitoring_card_ledger order by card_id`;
  const full = await cardBalances(sql, ledger.map((row) => row.card_id));
  const recomputed = new Map(full.map((card) => [card.card_id, card]));
  for (const row of ledger) {
    const card = recomputed.get(row.card_id);
    if (!card) continue; // a ledger card without a table_cards row: not judged
    assert.deepEqual(
      [row.card_id, row.expected_balance, row.transactions],
      [card.card_id, card.expected_balance, card.transactions],
    );
  }
}

Deno.test("the running ledger adds an inserted completed transaction once and ignores a failed one", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "A", amount: 50 }]);
    await setCards(db.sql, { A: 50 });
    assert.equal((await check(db.sql)).rows_examined, 1);
    assert.deepEqual(await ledgerOf(db.sql, "A"), { expected_balance: 50, transactions: 1 });

    await insertTransactions(db.sql, [
      { card: "A", type: "bar_order", amount: 8, previous: 50 },
      { card: "A", type: "bar_order", status: "failed", amount: 99, previous: 42, next: 42 },
    ]);
    await setCards(db.sql, { A: 42 });
    const outcome = await check(db.sql);
    assert.equal(outcome.new_events, 0);
    assert.deepEqual(await ledgerOf(db.sql, "A"), { expected_balance: 42, transactions: 2 });
    // Nothing new: nothing examined, nothing added again.
    assert.equal((await check(db.sql)).rows_examined, 0);
    assert.deepEqual(await ledgerOf(db.sql, "A"), { expected_balance: 42, transactions: 2 });
    await assertLedgerExact(db.sql);
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
    assert.deepEqual(await ledgerOf(db.sql, "P"), { expected_balance: 0, transactions: 0 });
    assert.deepEqual(
      (await openEvents(db.sql, DETECTOR)).map((e) => e.card_id).sort(),
      ["P", "W"],
    );

    // The platform completes the recharge and corrects the mistyped amount.
    await db
      .sql`update app_transaction_log set status = 'completed' where transaction_id = ${pending}`;
    await db
      .sql`update app_transaction_log set amount_involved = 20 where transaction_id = ${wrong}`;
    const fixed = await check(db.sql);
    assert.equal(fixed.resolved_events, 2);
    assert.deepEqual(await ledgerOf(db.sql, "P"), { expected_balance: 30, transactions: 1 });
    assert.deepEqual(await ledgerOf(db.sql, "W"), { expected_balance: 20, transactions: 1 });

    // Inserted as pending and completed before the next cycle: counted once.
    const [both] = await insertTransactions(db.sql, [
      { card: "P", type: "bar_order", amount: 5, previous: 30, status: "pending" },
    ]);
    await db
      .sql`update app_transaction_log set status = 'completed' where transaction_id = ${both}`;
    await setCards(db.sql, { P: 25 });
    assert.equal((await check(db.sql)).new_events, 0);
    assert.deepEqual(await ledgerOf(db.sql, "P"), { expected_balance: 25, transactions: 2 });
    assert.equal((await openEvents(db.sql, DETECTOR)).length, 0);
    await assertLedgerExact(db.sql);
  } finally {
    await db.drop();
  }
});

Deno.test("a card amount changed without a transaction is judged against the running balance", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "C", amount: 40 }]);
    await setCards(db.sql, { C: 40 });
    await check(db.sql);
    await setCards(db.sql, { C: 55 }); // money from nowhere
    const outcome = await check(db.sql);
    assert.equal(outcome.new_events, 1);
    const [event] = await openEvents(db.sql, DETECTOR);
    assert.deepEqual(
      [event.card_id, event.context.expected_balance, event.context.difference],
      ["C", 40, 15],
    );
    assert.deepEqual(await ledgerOf(db.sql, "C"), { expected_balance: 40, transactions: 1 });
  } finally {
    await db.drop();
  }
});

Deno.test("a late-synced transaction with an old timestamp is added to its card's running balance", async () => {
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
    const missed = await check(db.sql);
    assert.equal(missed.new_events, 1, "the card still holds 60: the order took no money");
    assert.deepEqual(await ledgerOf(db.sql, "L"), { expected_balance: 48, transactions: 2 });
    await setCards(db.sql, { L: 48 });
    assert.equal((await check(db.sql)).resolved_events, 1);
    await assertLedgerExact(db.sql);
  } finally {
    await db.drop();
  }
});

Deno.test("rows committed past the horizon are neither counted twice nor judged early, on the first run or later", async () => {
  const db = await festivalDatabase();
  const other = await db.sql.reserve();
  try {
    await insertTransactions(db.sql, [{ card: "F", amount: 20, at: ago(600) }]);
    await setCards(db.sql, { F: 20, G: 0 });
    // An older transaction holds the horizon back while newer ones commit: the
    // first run's backfill sees them, but the feed hands them out only later.
    await other`begin`;
    await other`select pg_current_xact_id()`;
    await insertTransactions(db.sql, [{ card: "F", amount: 5 }, { card: "G", amount: 7 }]);
    await setCards(db.sql, { F: 25, G: 7 });
    const first = await check(db.sql);
    assert.equal(first.new_events, 0);
    assert.equal(await ledgerOf(db.sql, "F"), undefined, "F is ahead of the feed: not seeded");

    await other`commit`;
    const next = await check(db.sql);
    assert.equal(next.new_events, 0);
    assert.deepEqual(await ledgerOf(db.sql, "F"), { expected_balance: 25, transactions: 2 });
    assert.deepEqual(await ledgerOf(db.sql, "G"), { expected_balance: 7, transactions: 1 });

    // The same once F is in the ledger: its delta is applied once, when read.
    await other`begin`;
    await other`select pg_current_xact_id()`;
    await insertTransactions(db.sql, [{ card: "F", type: "bar_order", amount: 3, previous: 25 }]);
    await setCards(db.sql, { F: 22 });
    const held = await check(db.sql);
    assert.equal(held.new_events, 0);
    assert.equal(held.rows_examined, 0, "F has unread changes: judged next cycle");
    await other`commit`;
    const after = await check(db.sql);
    assert.equal(after.new_events, 0);
    assert.equal(after.rows_examined, 1);
    assert.deepEqual(await ledgerOf(db.sql, "F"), { expected_balance: 22, transactions: 3 });
    await assertLedgerExact(db.sql);
  } finally {
    other.release();
    await db.drop();
  }
});

Deno.test("the maintenance sweep resets a drifted ledger: a tampered row and a deleted transaction", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [
      { card: "T", amount: 30 },
      { card: "D", amount: 10 },
      { card: "D", amount: 4 },
    ]);
    await setCards(db.sql, { T: 30, D: 14 });
    await check(db.sql);
    await db.sql`update monitoring_card_ledger set expected_balance = 999 where card_id = 'T'`;
    // A deleted transaction is not captured: D's running balance still counts it, so
    // the critical tier sees a mismatch when D's amount follows the deletion...
    await db.sql`delete from app_transaction_log where card_id = 'D' and amount_involved = 4`;
    await setCards(db.sql, { D: 10 });
    assert.equal((await check(db.sql)).new_events, 1);

    // ...until the sweep recomputes every card, resolves it and resets the ledger.
    const sweep = await cycle(db.sql, { tier: "maintenance", detectors: [DETECTOR] });
    const outcome = outcomeOf(sweep, DETECTOR, "sweep");
    assert.equal(outcome.new_events, 0);
    assert.equal(outcome.resolved_events, 1);
    assert.equal(outcome.rows_examined, 2);
    assert.deepEqual(await ledgerOf(db.sql, "T"), { expected_balance: 30, transactions: 1 });
    assert.deepEqual(await ledgerOf(db.sql, "D"), { expected_balance: 10, transactions: 1 });
    await assertLedgerExact(db.sql);

    // The next increments build on the healed balances.
    await insertTransactions(db.sql, [{ card: "T", type: "bar_order", amount: 6, previous: 30 }]);
    await setCards(db.sql, { T: 24 });
    assert.equal((await check(db.sql)).new_events, 0);
    assert.deepEqual(await ledgerOf(db.sql, "T"), { expected_balance: 24, transactions: 2 });
  } finally {
    await db.drop();
  }
});

Deno.test("a sweep before the first incremental run leaves the ledger to that run", async () => {
  const db = await festivalDatabase();
  try {
    await insertTransactions(db.sql, [{ card: "S", amount: 9 }]);
    await setCards(db.sql, { S: 9 });
    await cycle(db.sql, { tier: "maintenance", detectors: [DETECTOR] });
    assert.equal(await ledgerOf(db.sql, "S"), undefined);
    await check(db.sql); // first run: seeds the backfill window
    assert.deepEqual(await ledgerOf(db.sql, "S"), { expected_balance: 9, transactions: 1 });
  } finally {
    await db.drop();
  }
});

Deno.test("a rolled-back (dry) cycle leaves the running ledger as it was", async () => {
  const db = await festivalDatabase();
  try {
    await check(db.sql);
    await insertTransactions(db.sql, [{ card: "R", amount: 11 }]);
    await setCards(db.sql, { R: 11 });
    await cycle(db.sql, { tier: "critical", detectors: [DETECTOR], dry_run: true });
    assert.equal(await ledgerOf(db.sql, "R"), undefined);
    await check(db.sql);
    assert.deepEqual(await ledgerOf(db.sql, "R"), { expected_balance: 11, transactions: 1 });
  } finally {
    await db.drop();
  }
});

Deno.test("monitoring_changes records whether each change was an insert or an update", async () => {
  const db = await createTestDatabase();
  try {
    await db.sql`create table captured (id int primary key, v int)`;
    await db.sql`select monitoring_install_capture('captured', 'id')`;
    await db.sql`insert into captured values (1, 1), (2, 2)`;
    await db.sql`update captured set v = 3 where id = 2`;
    const rows = await db.sql<{ row_pk: string; op: string }[]>`
      select row_pk, op from monitoring_changes where source_table = 'captured' order by change_id`;
    assert.deepEqual(rows.map((r) => [r.row_pk, r.op]), [
      ["1", "INSERT"],
      ["2", "INSERT"],
      ["2", "UPDATE"],
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
    assert.equal((await check(db.sql)).new_events, 0);
    const again = await check(db.sql);
    assert.equal(again.rows_examined, 0);
    assert.deepEqual(await ledgerOf(db.sql, "N"), { expected_balance: 120, transactions: 120 });
  } finally {
    await db.drop();
  }
});
