import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { startFunctionServer } from "./_helpers/function_server.ts";
import { cycle } from "./_helpers/app.ts";
import { startEmbeddedPostgres } from "../src/db/embedded.ts";
import { connect } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { checkHealth } from "../src/health/health_check.ts";
import { createAppContext } from "../src/app/context.ts";

// The contract is "answers within 2 s, never hangs": a bound on a hang, not a benchmark.
const HEALTH_BOUND_MS = 2000;

async function timed(request: () => Promise<Response>) {
  const started = performance.now();
  const response = await request();
  const body = await response.json();
  return { response, body, ms: performance.now() - started };
}

Deno.test("checkHealth() is degraded while tiers never ran or went stale, healthy when all are fresh", async () => {
  const db = await createTestDatabase();
  try {
    const fresh = await checkHealth(() => db.sql);
    assert.equal(fresh.status, "degraded");
    assert.equal(fresh.checks.database.status, "up");
    for (const tier of ["critical", "medium", "health", "maintenance"] as const) {
      assert.equal(fresh.checks.tiers![tier].status, "never_run");
      assert.ok(fresh.reasons.includes(`tier ${tier} has never run`));
    }

    await cycle(db.sql); // every tier, once
    const healthy = await checkHealth(() => db.sql);
    assert.deepEqual(healthy.reasons, []);
    assert.equal(healthy.status, "healthy");
    assert.equal(healthy.checks.tiers!.medium.status, "fresh");

    // Sixteen minutes without a cycle: past 3 x 30 s, 3 x 2 min and 3 x 5 min, within 3 x 1 h.
    await db.sql`update monitoring_cycles set started_at = started_at - interval '16 minutes'`;
    const stale = await checkHealth(() => db.sql);
    assert.equal(stale.status, "degraded");
    assert.deepEqual(
      Object.entries(stale.checks.tiers!).map(([tier, f]) => [tier, f.status]),
      [["critical", "stale"], ["medium", "stale"], ["health", "stale"], [
        "maintenance",
        "fresh",
      ]],
    );
    assert.match(stale.reasons.join("; "), /tier health stale \(9\d\ds since last cycle\)/);

    // Intervals come from monitoring_config: a slower health tier is fresh again.
    await db.sql`
      insert into monitoring_config (key, value) values ('tiers', '{"health": 600}')`;
    const tuned = await checkHealth(() => db.sql);
    assert.equal(tuned.checks.tiers!.health.status, "fresh");
    assert.equal(tuned.checks.tiers!.health.interval_seconds, 600);
  } finally {
    await db.drop();
  }
});

Deno.test("checkHealth() tells an unmigrated database (up, queries fail) from an unreachable one", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    const report = await checkHealth(() => db.sql);
    assert.equal(report.status, "unhealthy");
    assert.equal(report.checks.database.status, "up");
    assert.match(report.checks.database.error!, /monitoring_config|does not exist/);
    assert.deepEqual(report.reasons, [
      "health queries failed: are the monitoring migrations applied?",
    ]);
  } finally {
    await db.drop();
  }
});

Deno.test("checkHealth() reports a function with no database URL as down, naming the variables", async () => {
  const app = createAppContext({ env: {} });
  const report = await checkHealth(() => app.sql());
  assert.equal(report.status, "unhealthy");
  assert.equal(report.checks.database.status, "down");
  assert.match(report.checks.database.error!, /SUPABASE_DB_URL or DATABASE_URL/);
  assert.deepEqual(report.reasons, ["database unreachable"]);
});

Deno.test("GET /health answers 503 unhealthy within 2 s once its database is stopped", async () => {
  const pg = await startEmbeddedPostgres();
  const admin = connect(pg.url, { max: 1 });
  let server: Awaited<ReturnType<typeof startFunctionServer>> | undefined;
  try {
    await migrate(admin);
    await admin.end();
    server = await startFunctionServer("monitoring", { databaseUrl: pg.url });
    const up = await timed(() => server!.request("/health"));
    assert.equal(up.response.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.checks.database.status, "up");

    await pg.stop();
    for (const attempt of [1, 2]) {
      const down = await timed(() => server!.request("/health"));
      assert.equal(down.response.status, 503, JSON.stringify(down.body));
      assert.equal(down.body.status, "unhealthy");
      assert.equal(down.body.checks.database.status, "down");
      assert.deepEqual(down.body.reasons, ["database unreachable"]);
      assert.ok(down.ms < HEALTH_BOUND_MS, `attempt ${attempt} took ${Math.round(down.ms)} ms`);
    }
    // Other routes say the database is unavailable, as JSON, without a stack.
    const status = await timed(() => server!.request("/status"));
    assert.equal(status.response.status, 503);
    assert.equal(status.body.error.code, "database_unavailable");
  } finally {
    await server?.stop();
    await admin.end({ timeout: 0 }).catch(() => {});
    await pg.stop();
  }
});

Deno.test("GET /health answers 503 within 2 s when the database accepts connections but never answers", async () => {
  // A listener that accepts and then stays silent: what a hung server or a
  // black-holed pooler looks like to postgres.js.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const server = await startFunctionServer("monitoring", {
    databaseUrl: `postgres://postgres@127.0.0.1:${listener.addr.port}/postgres`,
  });
  try {
    for (const attempt of [1, 2]) {
      const down = await timed(() => server.request("/health"));
      assert.equal(down.response.status, 503, JSON.stringify(down.body));
      assert.equal(down.body.status, "unhealthy");
      assert.equal(down.body.checks.database.status, "down");
      assert.ok(down.ms < HEALTH_BOUND_MS, `attempt ${attempt} took ${Math.round(down.ms)} ms`);
    }
  } finally {
    await server.stop();
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
