import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { startFunctionServer } from "./_helpers/function_server.ts";
import { cycle, outcomeOf } from "./_helpers/app.ts";
import { runCycle } from "../src/cycle/run_cycle.ts";
import { createLogger } from "../src/log/logger.ts";
import { defineDetector } from "../src/detectors/types.ts";
import { controlledDetector, setConfig, testPack } from "./_helpers/test_packs.ts";

Deno.test("five simultaneous POST /cycle of one tier: exactly one runs, the others get 409", async () => {
  const db = await createTestDatabase();
  // Room for the blocked winner and the four callers it turns away.
  const server = await startFunctionServer("monitoring", {
    databaseUrl: db.url,
    env: { MONITORING_DB_POOL_MAX: "6" },
  });
  const blocker = await db.sql.reserve();
  try {
    // Every detector reads its watermark first: while this lock is held, whoever
    // wins the lease stays inside its cycle, so the race cannot end early by luck.
    await blocker`begin`;
    await blocker`lock table monitoring_watermarks in access exclusive mode`;
    const answered: Response[] = [];
    const calls = Array.from(
      { length: 5 },
      () =>
        server.request("/cycle", { method: "POST", body: { tier: "health" } }).then((response) => {
          answered.push(response);
          return response;
        }),
    );
    const deadline = Date.now() + 10_000;
    while (answered.length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(answered.length, 4, "four callers should be turned away while one runs");
    for (const response of answered) {
      const body = await response.json();
      assert.equal(response.status, 409, JSON.stringify(body));
      assert.equal(body.error.code, "cycle_running");
      assert.equal(body.error.held_by.tier, "health");
    }
    await blocker`commit`;
    const turnedAway = answered.slice(0, 4);
    const winner = (await Promise.all(calls)).find((response) => !turnedAway.includes(response))!;
    const summary = await winner.json();
    assert.equal(winner.status, 200, JSON.stringify(summary));
    assert.equal(summary.status, "ok");
    const [{ cycles, leases }] = await db.sql`
      select (select count(*)::int from monitoring_cycles) as cycles,
        (select count(*)::int from monitoring_cycle_leases) as leases`;
    assert.equal(cycles, 1);
    assert.equal(leases, 0, "the winner releases its lease");
  } finally {
    blocker.release();
    await server.stop();
    await db.drop();
  }
});

Deno.test("a lease left by a killed process blocks its tier until it expires, then the tier runs", async () => {
  const db = await createTestDatabase();
  try {
    const killed = crypto.randomUUID();
    await db.sql`
      insert into monitoring_cycle_leases (tier, cycle_id, holder, expires_at)
      values ('health', ${killed}, 'host:4242', now() + interval '1 minute')`;
    const pack = testPack([controlledDetector("probe", "ok", "health")]);
    const deps = { sql: db.sql, packs: [pack], log: createLogger(), env: {} };
    const busy = await runCycle(deps, { tier: "health" });
    assert.equal(busy.kind, "busy");
    assert.equal(busy.kind === "busy" && busy.heldBy.holder, "host:4242");

    // Another tier is not blocked by it.
    assert.equal((await cycle(db.sql, { tier: "critical" }, { packs: [pack] })).status, "ok");

    await db.sql`update monitoring_cycle_leases set expires_at = now() - interval '1 second'`;
    const summary = await cycle(db.sql, { tier: "health" }, { packs: [pack] });
    assert.equal(outcomeOf(summary, "probe").status, "ok");
    const leases = await db.sql`select cycle_id from monitoring_cycle_leases`;
    assert.equal(leases.length, 0);
  } finally {
    await db.drop();
  }
});

Deno.test("runCycle() records a failing or timed-out detector and still runs the others", async () => {
  const db = await createTestDatabase();
  try {
    await setConfig(db.sql, "cycle", { detector_timeout_ms: 200 });
    const slow = controlledDetector("slow", "sleep");
    const broken = controlledDetector("broken", "throw");
    const fine = controlledDetector("fine", "ok");
    const summary = await cycle(db.sql, { tier: "critical" }, {
      packs: [testPack([slow, broken, fine])],
    });
    assert.equal(summary.status, "partial");
    assert.equal(summary.totals.failed, 2);
    assert.match(outcomeOf(summary, "slow").error!, /timed out after 200 ms|statement timeout/);
    assert.equal(outcomeOf(summary, "broken").error, "upstream down");
    assert.equal(outcomeOf(summary, "fine").status, "ok");
    assert.equal(fine.runs, 1);

    const runs = await db.sql<{ detector_id: string; status: string; error: string | null }[]>`
      select detector_id, status, error from monitoring_detector_runs
      where cycle_id = ${summary.cycle_id} order by run_id`;
    assert.deepEqual(runs.map((r) => [r.detector_id, r.status]), [
      ["slow", "failed"],
      ["broken", "failed"],
      ["fine", "ok"],
    ]);
    const breakers = await db.sql<{ name: string; failures: number; state: string }[]>`
      select name, failures, state from monitoring_circuit_breakers order by name`;
    assert.deepEqual(breakers.map((b) => ({ ...b })), [
      { name: "cycle", failures: 0, state: "closed" },
      { name: "detector:broken", failures: 1, state: "closed" },
      { name: "detector:fine", failures: 0, state: "closed" },
      { name: "detector:slow", failures: 1, state: "closed" },
    ]);
    const [stored] = await db.sql`
      select status, finished_at from monitoring_cycles where cycle_id = ${summary.cycle_id}`;
    assert.equal(stored.status, "partial");
    assert.ok(stored.finished_at);
  } finally {
    await db.drop();
  }
});

Deno.test("runCycle() renews its lease before each detector, so a cycle may outlive one lease", async () => {
  const db = await createTestDatabase();
  try {
    // One detector at a time: the second starts only after the first outlived the lease.
    await setConfig(db.sql, "cycle", { lease_seconds: 2, parallel_detectors: 1 });
    const deps = { sql: db.sql, log: createLogger(), env: {} };
    const probe = [testPack([controlledDetector("probe", "ok", "health")])];
    let contender: string | undefined;
    // Runs after the first detector outlived the lease taken at the cycle's start:
    // only a renewal keeps another caller out now.
    const asksAgain = defineDetector({
      ...controlledDetector("asks_again", "ok", "health"),
      async run() {
        contender = (await runCycle({ ...deps, packs: probe }, { tier: "health" })).kind;
        return { findings: [], rowsExamined: 0 };
      },
    });
    const slow = controlledDetector("slow", "sleep", "health", 2.2);
    const summary = await cycle(db.sql, { tier: "health" }, {
      packs: [testPack([slow, asksAgain])],
    });
    assert.equal(summary.status, "ok");
    assert.equal(contender, "busy");
  } finally {
    await db.drop();
  }
});

Deno.test("runCycle() stops running detectors once another cycle has taken its tier", async () => {
  const db = await createTestDatabase();
  try {
    // A one-second lease is renewed once a quarter of it has passed.
    await setConfig(db.sql, "cycle", { lease_seconds: 1, parallel_detectors: 1 });
    const usurper = crypto.randomUUID();
    const hijack = defineDetector({
      ...controlledDetector("hijack", "ok", "health"),
      async run() {
        // What an expiry followed by another process's acquireLeases() leaves behind,
        // then enough time for the runner to renew before the next detector.
        await db.sql`update monitoring_cycle_leases set cycle_id = ${usurper}`;
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { findings: [], rowsExamined: 0 };
      },
    });
    const after = controlledDetector("after", "ok", "health");
    const summary = await cycle(db.sql, { tier: "health" }, { packs: [testPack([hijack, after])] });
    assert.equal(outcomeOf(summary, "hijack").status, "ok");
    assert.equal(outcomeOf(summary, "after").status, "skipped");
    assert.match(outcomeOf(summary, "after").reason!, /lease expired/);
    assert.equal(after.runs, 0);
    // Its own release leaves the usurper's lease alone.
    const [lease] = await db.sql`select cycle_id from monitoring_cycle_leases`;
    assert.equal(lease.cycle_id, usurper);
  } finally {
    await db.drop();
  }
});

Deno.test("runCycle() runs detectors side by side up to cycle.parallel_detectors and records them in plan order", async () => {
  const db = await createTestDatabase();
  try {
    const spans = new Map<string, { start: number; end: number }>();
    const sleeper = (id: string, seconds: number) =>
      defineDetector({
        ...controlledDetector(id, "ok"),
        async run(ctx) {
          const start = performance.now();
          await ctx.sql`select pg_sleep(${seconds})`;
          spans.set(id, { start, end: performance.now() });
          return { findings: [], rowsExamined: 1 };
        },
      });
    const packs = [testPack([sleeper("long", 0.4), sleeper("short", 0.1)])];
    const overlap = () => {
      const [a, b] = [spans.get("long")!, spans.get("short")!];
      return a.start < b.end && b.start < a.end;
    };

    const side = await cycle(db.sql, { tier: "critical" }, { packs });
    assert.equal(side.status, "ok");
    assert.ok(overlap(), "two lanes (the default) run both detectors at once");
    const runs = await db.sql<{ detector_id: string }[]>`
      select detector_id from monitoring_detector_runs
      where cycle_id = ${side.cycle_id} order by run_id`;
    assert.deepEqual(runs.map((run) => run.detector_id), ["long", "short"]);
    assert.deepEqual(side.detectors.map((run) => run.detector), ["long", "short"]);

    await setConfig(db.sql, "cycle", { parallel_detectors: 1 });
    assert.equal((await cycle(db.sql, { tier: "critical" }, { packs })).status, "ok");
    assert.ok(!overlap(), "one lane runs them one after the other");
  } finally {
    await db.drop();
  }
});
