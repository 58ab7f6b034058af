import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { startFunctionServer } from "./_helpers/function_server.ts";
import { cycle, outcomeOf } from "./_helpers/app.ts";
import { controlledDetector, setConfig, testPack } from "./_helpers/test_packs.ts";
import { acquirePermit, recordFailure, recordSuccess } from "../src/breaker/circuit_breaker.ts";
import { runCycle } from "../src/cycle/run_cycle.ts";
import { createLogger } from "../src/log/logger.ts";
import { PACKS } from "../src/detectors/registry.ts";

const SETTINGS = { failure_threshold: 3, window_seconds: 600, cooldown_seconds: 120 };

async function breaker(sql: Sql, name: string) {
  const [row] = await sql<{ state: string; failures: number; opened_at: Date | null }[]>`
    select state, failures, opened_at from monitoring_circuit_breakers where name = ${name}`;
  return row;
}

/** Moves a breaker's clock back, as if its cool-down had passed. */
async function coolDown(sql: Sql, name: string) {
  await sql`
    update monitoring_circuit_breakers
    set opened_at = opened_at - interval '1 hour',
      trial_started_at = trial_started_at - interval '1 hour'
    where name = ${name}`;
}

Deno.test("a detector breaker opens after failure_threshold failures, trials after its cool-down, and closes on success", async () => {
  const db = await createTestDatabase();
  try {
    await setConfig(db.sql, "breaker", SETTINGS);
    const flaky = controlledDetector("flaky", "throw");
    const steady = controlledDetector("steady", "ok");
    const packs = [testPack([flaky, steady])];
    const run = () => cycle(db.sql, { tier: "critical" }, { packs });

    for (const expected of ["closed", "closed", "open"]) {
      const summary = await run();
      assert.equal(outcomeOf(summary, "flaky").status, "failed");
      assert.equal(outcomeOf(summary, "flaky").breaker, expected);
      assert.equal(outcomeOf(summary, "steady").status, "ok");
    }
    assert.deepEqual(
      { ...(await breaker(db.sql, "detector:flaky")), opened_at: undefined },
      { state: "open", failures: 3, opened_at: undefined },
    );

    // Open: the detector is not run at all until the cool-down passes.
    const refused = outcomeOf(await run(), "flaky");
    assert.equal(refused.status, "breaker_open");
    assert.match(refused.reason!, /next trial after/);
    assert.equal(flaky.runs, 3);

    // Half-open trial that fails: open again, with a fresh cool-down.
    await coolDown(db.sql, "detector:flaky");
    const failedTrial = outcomeOf(await run(), "flaky");
    assert.equal(failedTrial.status, "failed");
    assert.equal(failedTrial.breaker, "open");
    assert.equal(flaky.runs, 4);
    assert.equal(outcomeOf(await run(), "flaky").status, "breaker_open");

    // Half-open trial that succeeds: closed, failures forgotten.
    await coolDown(db.sql, "detector:flaky");
    flaky.behaviour = "ok";
    const goodTrial = outcomeOf(await run(), "flaky");
    assert.equal(goodTrial.status, "ok");
    assert.equal(goodTrial.breaker, "closed");
    assert.deepEqual(await breaker(db.sql, "detector:flaky"), {
      state: "closed",
      failures: 0,
      opened_at: null,
    });
  } finally {
    await db.drop();
  }
});

Deno.test("acquirePermit() grants the half-open trial to exactly one of many concurrent callers", async () => {
  const db = await createTestDatabase();
  try {
    for (let i = 0; i < SETTINGS.failure_threshold; i++) {
      await recordFailure(db.sql, "shared", "boom", SETTINGS);
    }
    assert.equal((await breaker(db.sql, "shared")).state, "open");
    const whileOpen = await acquirePermit(db.sql, "shared", SETTINGS);
    assert.equal(whileOpen.allowed, false);
    assert.ok(whileOpen.retryAt && whileOpen.retryAt.getTime() > Date.now() + 100_000);

    await coolDown(db.sql, "shared");
    const permits = await Promise.all(
      Array.from({ length: 5 }, () => acquirePermit(db.sql, "shared", SETTINGS)),
    );
    assert.equal(permits.filter((p) => p.allowed && p.trial).length, 1);
    assert.equal(permits.filter((p) => !p.allowed && p.state === "half_open").length, 4);

    // A trial whose isolate died never reports back: another is granted after a cool-down.
    assert.equal((await acquirePermit(db.sql, "shared", SETTINGS)).allowed, false);
    await coolDown(db.sql, "shared");
    assert.equal((await acquirePermit(db.sql, "shared", SETTINGS)).trial, true);
    assert.equal(await recordSuccess(db.sql, "shared"), "closed");
  } finally {
    await db.drop();
  }
});

Deno.test("recordFailure() counts failures within window_seconds only", async () => {
  const db = await createTestDatabase();
  try {
    await recordFailure(db.sql, "windowed", "one", SETTINGS);
    await recordFailure(db.sql, "windowed", "two", SETTINGS);
    await db.sql`
      update monitoring_circuit_breakers set window_started_at = now() - interval '11 minutes'
      where name = 'windowed'`;
    assert.equal(await recordFailure(db.sql, "windowed", "three, but later", SETTINGS), "closed");
    assert.equal((await breaker(db.sql, "windowed")).failures, 1);
    // A success while closed does not wipe the count of the current window.
    await recordSuccess(db.sql, "windowed");
    await recordFailure(db.sql, "windowed", "four", SETTINGS);
    assert.equal(await recordFailure(db.sql, "windowed", "five", SETTINGS), "open");
  } finally {
    await db.drop();
  }
});

Deno.test("the cycle breaker opens when every detector fails; POST /cycle then answers 503 until reset", async () => {
  const db = await createTestDatabase();
  const server = await startFunctionServer("monitoring", { databaseUrl: db.url });
  try {
    await setConfig(db.sql, "breaker", SETTINGS);
    const packs = [testPack([controlledDetector("a", "throw"), controlledDetector("b", "throw")])];
    const deps = { sql: db.sql, packs, log: createLogger(), env: {} };
    for (let i = 0; i < SETTINGS.failure_threshold; i++) {
      const outcome = await runCycle(deps, { tier: "critical" });
      assert.equal(outcome.kind === "completed" && outcome.summary.status, "failed");
    }
    assert.equal((await breaker(db.sql, "cycle")).state, "open");
    const refused = await runCycle(deps, { tier: "critical" });
    assert.equal(refused.kind, "breaker_open");

    // Every process sees the same state: the served function refuses too.
    const response = await server.request("/cycle", { method: "POST", body: { tier: "health" } });
    const body = await response.json();
    assert.equal(response.status, 503);
    assert.equal(body.error.code, "breaker_open");
    const retryAfter = Number(response.headers.get("retry-after"));
    assert.ok(retryAfter > 60 && retryAfter <= 120, `retry-after ${retryAfter}`);
    // A dry run only reads, so it is still allowed.
    assert.equal(
      (await server.request("/cycle", { method: "POST", body: { tier: "health", dry_run: true } }))
        .status,
      200,
    );

    const status = await (await server.request("/status")).json();
    assert.equal(status.circuit_breaker.state, "open");
    assert.equal(status.circuit_breaker.failures, 3);
    assert.match(status.circuit_breaker.last_error, /all 2 detectors failed/);
    assert.deepEqual(
      status.breakers.map((b: { name: string }) => b.name).sort(),
      ["cycle", "detector:a", "detector:b"],
    );
    assert.equal(status.tiers.critical.last_status, "failed");
    assert.equal(status.tiers.health.status, "never_run");
    const heartbeat = status.detectors.find((d: { id: string }) => d.id === "system_health");
    assert.equal(heartbeat.breaker.state, "closed");
    assert.deepEqual(status.open_events.by_severity, { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 });
    assert.deepEqual(status.config_errors, []);

    const health = await server.request("/health");
    const report = await health.json();
    assert.equal(health.status, 200);
    assert.equal(report.status, "degraded");
    assert.equal(report.checks.circuit_breaker.state, "open");

    const reset = await server.request("/circuit-breaker/reset", {
      method: "POST",
      body: { name: "cycle" },
    });
    assert.deepEqual(await reset.json(), { reset: ["cycle"] });
    const ran = await server.request("/cycle", { method: "POST", body: { tier: "health" } });
    const summary = await ran.json();
    assert.equal(ran.status, 200, JSON.stringify(summary));
    assert.equal(summary.status, "ok");
    const after = await (await server.request("/status")).json();
    assert.equal(after.circuit_breaker.state, "closed");
    assert.equal(after.tiers.health.status, "fresh");
    assert.equal(after.open_events.by_severity.LOW, 1);
  } finally {
    await server.stop();
    await db.drop();
  }
});

Deno.test("runCycle() turned away as busy leaves the cycle breaker's half-open trial unclaimed", async () => {
  const db = await createTestDatabase();
  try {
    await db.sql`
      insert into monitoring_circuit_breakers (name, state, failures, opened_at)
      values ('cycle', 'open', 3, now() - interval '1 hour')`;
    await db.sql`
      insert into monitoring_cycle_leases (tier, cycle_id, holder, expires_at)
      values ('health', ${crypto.randomUUID()}, 'other-process', now() + interval '1 minute')`;
    const outcome = await runCycle({
      sql: db.sql,
      packs: PACKS,
      log: createLogger(),
      env: {},
    }, { tier: "health" });
    assert.equal(outcome.kind, "busy");
    const [breaker] = await db
      .sql`select state, trial_started_at from monitoring_circuit_breakers where name = 'cycle'`;
    assert.equal(breaker.state, "open");
    assert.equal(breaker.trial_started_at, null);
  } finally {
    await db.drop();
  }
});
