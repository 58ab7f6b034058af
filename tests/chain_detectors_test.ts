import assert from "node:assert/strict";
import { parseEther } from "ethers";
import { createTestDatabase } from "./_helpers/database.ts";
import type { TestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { cycle, openEvents, outcomeOf, setup } from "./_helpers/app.ts";
import { startTestChain } from "./_helpers/evm_node.ts";
import type { TestChain } from "./_helpers/evm_node.ts";
import { insertTransactions } from "./_helpers/festival_data.ts";
import { chainPack } from "../src/detectors/chain/pack.ts";
import { festivalPack } from "../src/detectors/festival/pack.ts";
import { statusReport } from "../src/status/status_report.ts";
import { startChainDemo } from "../src/demo/chain_traffic.ts";
import { pickDue } from "../src/detectors/chain/receipt_queue.ts";
import { snapshotHorizon } from "../src/detectors/change_feed.ts";
import type { Sql } from "../src/db/client.ts";

const PACKS = [festivalPack, chainPack];

async function chainDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await createPlatformTables(db.sql, ["festival", "exchange", "trades"]);
  await setup(db.sql, PACKS);
  return db;
}

async function configure(sql: Sql, key: string, value: Record<string, unknown>) {
  await sql`
    insert into monitoring_config (key, value) values (${key}, ${sql.json(value as never)})
    on conflict (key) do update set value = excluded.value`;
}

/**
 * Waits until the change feed's horizon has passed every transaction committed so
 * far: a transaction of a parallel test still open on this database holds the
 * horizon back, and rows committed behind it are (rightly) read by a later cycle.
 */
async function feedSettled(sql: Sql): Promise<void> {
  const [{ xid }] = await sql<{ xid: string }[]>`select pg_current_xact_id()::text as xid`;
  for (let attempt = 0; attempt < 400; attempt++) {
    if (BigInt(await snapshotHorizon(sql)) > BigInt(xid)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the feed horizon did not pass xid ${xid} within 10 s`);
}

/** Runs the chain detectors named, against `env`, once the rows written so far are readable. */
async function chainCycle(sql: Sql, env: Record<string, string>, detectors?: string[]) {
  await feedSettled(sql);
  return await cycle(sql, { tier: "critical", ...(detectors ? { detectors } : {}) }, {
    packs: PACKS,
    env,
  });
}

async function withChain(test: (db: TestDatabase, chain: TestChain) => Promise<void>) {
  const db = await chainDatabase();
  const chain = await startTestChain();
  try {
    await test(db, chain);
  } finally {
    await chain.stop();
    await db.drop();
  }
}

const randomHash = () =>
  `0x${
    Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;

Deno.test("the chain pack is skipped with a clear reason when CHAIN_RPC_URL is unset or invalid", async () => {
  const db = await chainDatabase();
  try {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /^CHAIN_RPC_URL is not set$/],
      [{ CHAIN_RPC_URL: "   " }, /^CHAIN_RPC_URL is not set$/],
      [{ CHAIN_RPC_URL: "ftp://127.0.0.1:1" }, /CHAIN_RPC_URL: must be an http\(s\) URL/],
      [
        { CHAIN_RPC_URL: "http://127.0.0.1:1", ESCROW_CONTRACT_ADDRESS: "0x1234" },
        /ESCROW_CONTRACT_ADDRESS.*not an address: received '0x1234'/,
      ],
    ];
    for (const [env, reason] of cases) {
      const summary = await chainCycle(db.sql, env);
      for (const id of ["contract_paused", "escrow_balance", "receipt_mismatch"]) {
        const outcome = outcomeOf(summary, id);
        assert.equal(outcome.status, "skipped", `${id} with ${JSON.stringify(env)}`);
        assert.match(outcome.reason ?? "", reason);
      }
      assert.equal(outcomeOf(summary, "balance_deduction_on_failure").status, "ok");
    }
  } finally {
    await db.drop();
  }
});

Deno.test("contract_paused opens a CRITICAL event while paused() is true, resolves it on unpause, and opens a new one on the next pause", async () => {
  await withChain(async (db, chain) => {
    const run = () => chainCycle(db.sql, chain.env, ["contract_paused"]);
    const calm = await run();
    assert.equal(outcomeOf(calm, "contract_paused").status, "ok");
    assert.equal(outcomeOf(calm, "contract_paused").rows_examined, 1);
    assert.equal((await openEvents(db.sql, "contract_paused")).length, 0);

    await chain.mined(chain.escrow.pause());
    assert.equal(outcomeOf(await run(), "contract_paused").new_events, 1);
    const again = await run();
    assert.equal(outcomeOf(again, "contract_paused").new_events, 0);
    assert.equal(outcomeOf(again, "contract_paused").repeated_events, 1);
    const [event] = await openEvents(db.sql, "contract_paused");
    assert.equal(event.severity, "CRITICAL");
    assert.equal(event.context.address, chain.escrowAddress);
    assert.equal(event.occurrence_count, 2);

    await chain.mined(chain.escrow.unpause());
    assert.equal(outcomeOf(await run(), "contract_paused").resolved_events, 1);
    assert.equal((await openEvents(db.sql, "contract_paused")).length, 0);
    const [resolved] = await db.sql<{ status: string; resolution_notes: string }[]>`
      select status, resolution_notes from monitoring_events where event_id = ${event.event_id}`;
    assert.equal(resolved.status, "RESOLVED");
    assert.match(resolved.resolution_notes, /unpaused/);

    await chain.mined(chain.escrow.pause());
    assert.equal(outcomeOf(await run(), "contract_paused").new_events, 1);
    const [second] = await openEvents(db.sql, "contract_paused");
    assert.notEqual(second.event_id, event.event_id);
  });
});

Deno.test("escrow_balance flags a balance over max_balance_ether, not one at it, and resolves when funds leave", async () => {
  await withChain(async (db, chain) => {
    await configure(db.sql, "detector.escrow_balance", { max_balance_ether: "5" });
    const run = () => chainCycle(db.sql, chain.env, ["escrow_balance"]);
    await chain.mined(chain.escrow.deposit({ value: parseEther("5") }));
    const atLimit = await run();
    assert.equal(outcomeOf(atLimit, "escrow_balance").status, "ok");
    assert.equal(
      outcomeOf(atLimit, "escrow_balance").findings,
      0,
      "exactly at the limit is allowed",
    );

    await chain.mined(chain.escrow.deposit({ value: parseEther("0.25") }));
    assert.equal(outcomeOf(await run(), "escrow_balance").new_events, 1);
    const [event] = await openEvents(db.sql, "escrow_balance");
    assert.equal(event.severity, "HIGH");
    assert.equal(event.context.balance_ether, "5.25");
    assert.equal(event.context.excess_ether, "0.25");
    assert.equal(outcomeOf(await run(), "escrow_balance").new_events, 0, "no duplicate");

    await chain.mined(chain.escrow.release(chain.payee, parseEther("1")));
    assert.equal(outcomeOf(await run(), "escrow_balance").resolved_events, 1);
    assert.equal((await openEvents(db.sql, "escrow_balance")).length, 0);
    const [resolved] = await db.sql<{ resolution_notes: string }[]>`
      select resolution_notes from monitoring_events where event_id = ${event.event_id}`;
    assert.match(resolved.resolution_notes, /at or under 5\.0 ether/);

    await chain.mined(chain.escrow.deposit({ value: parseEther("3") }));
    assert.equal(
      outcomeOf(await run(), "escrow_balance").new_events,
      1,
      "a new breach, a new event",
    );
    const [again] = await openEvents(db.sql, "escrow_balance");
    assert.notEqual(again.event_id, event.event_id);
  });
});

Deno.test("without ESCROW_CONTRACT_ADDRESS the contract checks say they have nothing to check and /status warns", async () => {
  await withChain(async (db, chain) => {
    const env = { CHAIN_RPC_URL: chain.env.CHAIN_RPC_URL };
    const summary = await chainCycle(db.sql, env);
    for (const id of ["contract_paused", "escrow_balance"]) {
      const outcome = outcomeOf(summary, id);
      assert.equal(outcome.status, "ok");
      assert.equal(outcome.rows_examined, 0);
      assert.match(String(outcome.report?.skipped), /ESCROW_CONTRACT_ADDRESS is not set/);
    }
    assert.equal(outcomeOf(summary, "receipt_mismatch").status, "ok");
    const status = await statusReport(db.sql, PACKS, env);
    const pack = status.packs.find((p) => p.id === "chain");
    assert.equal(pack?.available, true);
    assert.match(pack?.warnings.join(" ") ?? "", /ESCROW_CONTRACT_ADDRESS is not set/);
  });
});

Deno.test("receipt_mismatch flags reverted and missing receipts once each, never a succeeded one, and waits out the grace period", async () => {
  await withChain(async (db, chain) => {
    await configure(db.sql, "detector.receipt_mismatch", { grace_seconds: 2, recheck_seconds: 0 });
    await chain.mined(chain.escrow.deposit({ value: parseEther("2") }));
    // A release larger than the balance reverts; gasLimit is given so ethers does not
    // refuse it at estimate time and the node mines it with status 0.
    const failed = await chain.mined(
      chain.escrow.release(chain.payee, parseEther("50"), { gasLimit: 200_000n }),
    );
    const succeeded = await chain.mined(
      chain.escrow.release(chain.payee, parseEther("1"), { gasLimit: 200_000n }),
    );
    assert.equal(failed.status, 0);
    assert.equal(succeeded.status, 1);
    const missing = randomHash();

    const [reverted] = await db.sql<{ id: string }[]>`
      insert into auto_exchange_requests (status, tx_hash, diamond_amount)
      values ('completed', ${failed.hash}, 100) returning id::text`;
    await db.sql`
      insert into auto_exchange_requests (status, tx_hash, diamond_amount) values
        ('completed', ${succeeded.hash}, 100),
        ('failed', ${failed.hash}, 100),
        ('completed', null, 100)`;
    const [lost] = await db.sql<{ id: string }[]>`
      insert into trades_fills (status, tx_hash) values ('completed', ${missing})
      returning id::text`;
    const [pendingFill] = await db.sql<{ id: string }[]>`
      insert into trades_fills (status, tx_hash) values ('pending', ${randomHash()})
      returning id::text`;
    // Marked completed, then failed by the platform before its grace ran out: never flagged.
    const [retracted] = await db.sql<{ id: string }[]>`
      insert into trades_fills (status, tx_hash) values ('completed', ${randomHash()})
      returning id::text`;
    const [garbled] = await db.sql<{ id: string }[]>`
      insert into trades_fills (status, tx_hash) values ('completed', 'pending-broadcast')
      returning id::text`;

    // First run: the backfill reads the rows; the missing receipt is still within grace.
    const first = outcomeOf(
      await chainCycle(db.sql, chain.env, ["receipt_mismatch"]),
      "receipt_mismatch",
    );
    assert.equal(first.status, "ok", first.error);
    assert.equal(first.new_events, 2);
    let events = await openEvents(db.sql, "receipt_mismatch");
    assert.deepEqual(
      new Map(events.map((event) => [event.context.id, event.context.problem])),
      new Map([[reverted.id, "reverted"], [garbled.id, "invalid_hash"]]),
    );
    assert.ok(events.every((event) => event.severity === "CRITICAL"));

    // Later rows arrive through the change feed: a new request, and a fill marked completed.
    const [lateRequest] = await db.sql<{ id: string }[]>`
      insert into auto_exchange_requests (status, tx_hash) values ('completed', ${failed.hash})
      returning id::text`;
    await db.sql`update trades_fills set status = 'completed', tx_hash = ${succeeded.hash}
      where id = ${pendingFill.id}`;
    await db.sql`update trades_fills set status = 'failed' where id = ${retracted.id}`;
    const second = outcomeOf(
      await chainCycle(db.sql, chain.env, ["receipt_mismatch"]),
      "receipt_mismatch",
    );
    assert.equal(second.new_events, 1, "the late reverted request; the missing one is still young");

    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const third = outcomeOf(
      await chainCycle(db.sql, chain.env, ["receipt_mismatch"]),
      "receipt_mismatch",
    );
    assert.equal(third.new_events, 1, "the missing receipt, once the grace period is over");
    events = await openEvents(db.sql, "receipt_mismatch");
    const byRow = new Map(events.map((event) => [event.context.id, event.context.problem]));
    assert.deepEqual(
      byRow,
      new Map([
        [reverted.id, "reverted"],
        [garbled.id, "invalid_hash"],
        [lateRequest.id, "reverted"],
        [lost.id, "missing"],
      ]),
    );

    const rerun = outcomeOf(
      await chainCycle(db.sql, chain.env, ["receipt_mismatch"]),
      "receipt_mismatch",
    );
    assert.equal(rerun.rows_examined, 0);
    assert.equal(rerun.findings, 0);
    assert.equal((await openEvents(db.sql, "receipt_mismatch")).length, 4);
  });
});

Deno.test("receipt_mismatch checks at most receipts_per_run receipts a run and decides every row once", async () => {
  await withChain(async (db, chain) => {
    await configure(db.sql, "detector.receipt_mismatch", { receipts_per_run: 2 });
    await chain.mined(chain.escrow.deposit({ value: parseEther("1") }));
    const failed = await chain.mined(
      chain.escrow.release(chain.payee, parseEther("9"), { gasLimit: 200_000n }),
    );
    const ok = await chain.mined(chain.escrow.deposit({ value: parseEther("1") }));
    await db.sql`
      insert into auto_exchange_requests (status, tx_hash, created_at)
      select 'completed', ${ok.hash}, now() - make_interval(secs => i) from generate_series(1, 4) i`;
    await db.sql`insert into trades_fills (status, tx_hash) values ('completed', ${failed.hash})`;

    const checked: number[] = [];
    for (let run = 0; run < 4; run++) {
      const outcome = outcomeOf(
        await chainCycle(db.sql, chain.env, ["receipt_mismatch"]),
        "receipt_mismatch",
      );
      checked.push((outcome.report as { receipts_checked: number }).receipts_checked);
    }
    assert.deepEqual(checked, [2, 2, 1, 0]);
    const events = await openEvents(db.sql, "receipt_mismatch");
    assert.equal(events.length, 1);
    assert.equal(events[0].context.table, "trades_fills");
  });
});

Deno.test("an unreachable RPC node fails only the chain detectors, opens their breakers after the threshold, and /status says why", async () => {
  const db = await chainDatabase();
  try {
    // A port that was just open and is now closed.
    const chain = await startTestChain();
    const env = chain.env;
    await chain.stop();
    await insertTransactions(db.sql, [{ card: "C1" }]);

    for (let attempt = 1; attempt <= 3; attempt++) {
      const summary = await chainCycle(db.sql, env);
      assert.equal(summary.status, "partial");
      for (const id of ["contract_paused", "escrow_balance"]) {
        const outcome = outcomeOf(summary, id);
        assert.equal(outcome.status, "failed");
        assert.match(outcome.error ?? "", /^RPC .* failed at 127\.0\.0\.1:\d+: /);
      }
      for (const festival of festivalPack.detectors.filter((d) => d.tier === "critical")) {
        assert.equal(outcomeOf(summary, festival.id).status, "ok", festival.id);
      }
    }
    const refused = await chainCycle(db.sql, env);
    assert.equal(outcomeOf(refused, "contract_paused").status, "breaker_open");
    assert.equal(outcomeOf(refused, "escrow_balance").status, "breaker_open");
    assert.equal(outcomeOf(refused, "balance_deduction_on_failure").status, "ok");

    const status = await statusReport(db.sql, PACKS, env);
    const paused = status.detectors.find((d) => d.id === "contract_paused")!;
    assert.equal(paused.breaker.state, "open");
    assert.match(
      paused.breaker.last_error ?? "",
      /RPC eth_chainId failed at 127\.0\.0\.1:\d+: .*refused/i,
    );
    assert.equal(status.packs.find((p) => p.id === "chain")?.available, true);
  } finally {
    await db.drop();
  }
});

Deno.test("a node that answers too slowly fails the chain detector after rpc_timeout_ms", async () => {
  const db = await chainDatabase();
  const slow = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return Response.json({ jsonrpc: "2.0", id: 1, result: "0x7a69" });
  });
  try {
    await configure(db.sql, "detector.contract_paused", { rpc_timeout_ms: 100 });
    const summary = await chainCycle(db.sql, {
      CHAIN_RPC_URL: `http://127.0.0.1:${slow.addr.port}/`,
      ESCROW_CONTRACT_ADDRESS: "0x000000000000000000000000000000000000dEaD",
    }, ["contract_paused"]);
    const outcome = outcomeOf(summary, "contract_paused");
    assert.equal(outcome.status, "failed");
    assert.match(outcome.error ?? "", /RPC eth_chainId failed at .*timed out/);
  } finally {
    await slow.shutdown();
    await db.drop();
  }
});

Deno.test("startChainDemo() plants chain anomalies that become exactly the expected events", async () => {
  const db = await chainDatabase();
  const demo = await startChainDemo();
  try {
    const now = new Date();
    const planted = await demo.traffic.generate(db.sql, { now });
    // The other packs' demo rows carry made-up hashes: the chain demo skips the backfill.
    await db.sql`insert into trades_fills (status, tx_hash) values ('completed', '0xfeed')`;
    await chainCycle(db.sql, demo.env);
    planted.push(...await demo.traffic.late!(db.sql, { now }));
    await chainCycle(db.sql, demo.env);
    const key = (e: { detector: string; severity: string; subject: string }) =>
      `${e.detector} ${e.severity} ${e.subject}`;
    const live = await db.sql<{ detector: string; severity: string; subject: string }[]>`
      select detection_algorithm as detector, severity, entity_id as subject
      from monitoring_events where pack = 'chain' and status = 'OPEN'`;
    assert.deepEqual(
      live.map(key).sort(),
      planted.flatMap((plant) => plant.expect).map(key).sort(),
    );
    assert.ok((await demo.traffic.figures(db.sql)).length > 0);
  } finally {
    await demo.stop();
    await db.drop();
  }
});

Deno.test("pickDue() takes unchecked rows first, then rows past their grace, then young rows due a re-check", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000).toISOString();
  const row = (id: string, since: number, checked: number | null) => ({
    table: "trades_fills",
    id,
    tx_hash: `0x${id}`,
    since: at(since),
    checked_at: checked === null ? null : at(checked),
  });
  const queue = [
    row("young-recent-check", 10, 5), // checked 5 s ago: not due (recheck 30 s)
    row("young-stale-check", 20, 40), // checked 40 s ago: due again
    row("overdue", 700, 5), // grace over: decide now
    row("unchecked-new", 1, null),
    row("unchecked-old", 900, null),
  ];
  const cases: [number, string[]][] = [
    [10, ["unchecked-old", "unchecked-new", "overdue", "young-stale-check"]],
    [2, ["unchecked-old", "unchecked-new"]],
    [3, ["unchecked-old", "unchecked-new", "overdue"]],
  ];
  for (const [limit, expected] of cases) {
    const due = pickDue(queue, { now, graceSeconds: 600, recheckSeconds: 30, limit });
    assert.deepEqual(due.map((r) => r.id), expected, `limit ${limit}`);
  }
});

Deno.test("receipt_mismatch stops reading new rows while max_queue rows wait, and reads them once the queue drains", async () => {
  await withChain(async (db, chain) => {
    await configure(db.sql, "detector.receipt_mismatch", { max_queue: 10, receipts_per_run: 1 });
    const ok = await chain.mined(chain.escrow.deposit({ value: parseEther("1") }));
    await db.sql`
      insert into auto_exchange_requests (status, tx_hash)
      select 'completed', ${ok.hash} from generate_series(1, 12)`;
    const run = async () => {
      const summary = await chainCycle(db.sql, chain.env, ["receipt_mismatch"]);
      const { rows_read, queued } = outcomeOf(summary, "receipt_mismatch").report as {
        rows_read: number;
        queued: number;
      };
      return [rows_read, queued];
    };
    assert.deepEqual(await run(), [12, 11], "the backfill reads all, one receipt is checked");
    const failed = await chain.mined(
      chain.escrow.release(chain.payee, parseEther("5"), { gasLimit: 200_000n }),
    );
    const [late] = await db.sql<{ id: string }[]>`
      insert into auto_exchange_requests (status, tx_hash) values ('completed', ${failed.hash})
      returning id::text`;
    assert.deepEqual(await run(), [0, 10], "queue full: the feed keeps its place");
    assert.deepEqual(await run(), [0, 9]);
    assert.deepEqual(await run(), [1, 9], "room again: the late row is read");
    for (let drained = 0; drained < 9; drained++) await run();
    const events = await openEvents(db.sql, "receipt_mismatch");
    assert.deepEqual(events.map((event) => event.context.id), [late.id]);
  });
});
