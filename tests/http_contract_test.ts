import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { createTestDatabase } from "./_helpers/database.ts";
import { startFunctionServer } from "./_helpers/function_server.ts";
import type { Caller, FunctionServer } from "./_helpers/function_server.ts";

/** Every route of the `monitoring` function, with the method it answers. */
const ROUTES = [
  { method: "GET", path: "/health" },
  { method: "GET", path: "/status" },
  { method: "POST", path: "/cycle" },
  { method: "POST", path: "/circuit-breaker/reset" },
] as const;

// A stack frame as V8 prints it ("at fn (file:///x.ts:1:2)"), or any source position.
const STACK_FRAME = /\bat\s+\S.*:\d+:\d+|\.ts:\d+|file:\/\//;

/** Reads a JSON body, asserting the content type and that no stack trace leaked. */
async function readJson(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  assert.doesNotMatch(text, STACK_FRAME, `a stack trace leaked: ${text}`);
  return JSON.parse(text);
}

/** Asserts the DESIGN.md error envelope and returns its error object. */
async function expectError(response: Response, status: number, code: string) {
  const body = await readJson(response);
  assert.equal(response.status, status, JSON.stringify(body));
  const error = body.error as { code: string; message: string; field?: string };
  assert.equal(error.code, code);
  assert.equal(typeof error.message, "string");
  return error;
}

async function countRows(sql: Sql) {
  const [row] = await sql<Record<string, number>[]>`
    select
      (select count(*)::int from monitoring_cycles) as cycles,
      (select count(*)::int from monitoring_detector_runs) as runs,
      (select count(*)::int from monitoring_events) as events,
      (select count(*)::int from system_health_snapshots) as snapshots,
      (select count(*)::int from monitoring_watermarks) as watermarks,
      (select count(*)::int from monitoring_circuit_breakers) as breakers,
      (select count(*)::int from monitoring_cycle_leases) as leases`;
  return row;
}

Deno.test("the monitoring function, served by `deno serve`, keeps its HTTP contract", async (t) => {
  const db = await createTestDatabase();
  let server: FunctionServer | undefined;
  try {
    server = await startFunctionServer("monitoring", { databaseUrl: db.url });
    const fn = server;

    await t.step("every route answers 401 JSON without or with wrong credentials", async () => {
      const wrong: [string, HeadersInit][] = [
        ["none", {}],
        ["wrong bearer", { authorization: "Bearer not-the-key" }],
        ["wrong apikey", { apikey: "sb_secret_wrong" }],
        ["wrong cron secret", { "x-monitoring-cron-secret": "nope" }],
        ["malformed authorization", { authorization: "Basic Zm9vOmJhcg==" }],
      ];
      for (const route of ROUTES) {
        for (const [label, headers] of wrong) {
          const response = await fn.request(route.path, {
            method: route.method,
            as: "anonymous",
            headers,
          });
          const error = await expectError(response, 401, "unauthorized");
          assert.ok(error.message.length > 0, `${route.method} ${route.path} (${label})`);
        }
      }
      // Unknown paths and wrong methods reveal nothing before authentication either.
      await expectError(await fn.request("/nope", { as: "anonymous" }), 401, "unauthorized");
      await expectError(await fn.request("/cycle", { as: "anonymous" }), 401, "unauthorized");
    });

    await t.step("the service role Bearer and an sb_secret_ apikey are both accepted", async () => {
      for (const caller of ["service_role", "secret_key"] satisfies Caller[]) {
        const response = await fn.request("/status", { as: caller });
        const body = await readJson(response);
        assert.equal(response.status, 200, `${caller}: ${JSON.stringify(body)}`);
        assert.equal((body.circuit_breaker as { state: string }).state, "closed");
      }
    });

    await t.step(
      "routes answer under the gateway's /functions/v1 prefix and without it",
      async () => {
        for (const path of ["/functions/v1/monitoring/status", "/monitoring/status", "/status"]) {
          const response = await fetch(`${fn.origin}${path}`, {
            headers: fn.headersFor("secret_key"),
          });
          assert.equal(response.status, 200, path);
          await readJson(response);
        }
      },
    );

    await t.step("the cron secret may only start cycles (403 elsewhere)", async () => {
      const response = await fn.request("/cycle", {
        method: "POST",
        as: "cron",
        body: { tier: "health", dry_run: true },
      });
      const body = await readJson(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.status, "dry_run");
      for (const route of ROUTES.filter((r) => r.path !== "/cycle")) {
        await expectError(
          await fn.request(route.path, { method: route.method, as: "cron" }),
          403,
          "forbidden",
        );
      }
    });

    await t.step("a wrong method is 405 with an allow header; an unknown path 404", async () => {
      const cases = [
        { method: "GET", path: "/cycle", allow: "POST" },
        { method: "DELETE", path: "/status", allow: "GET" },
        { method: "POST", path: "/health", allow: "GET" },
        { method: "GET", path: "/circuit-breaker/reset", allow: "POST" },
      ];
      for (const { method, path, allow } of cases) {
        const response = await fn.request(path, { method });
        await expectError(response, 405, "method_not_allowed");
        assert.equal(response.headers.get("allow"), allow, `${method} ${path}`);
      }
      for (const path of ["/nope", "/cycle/extra", "/circuit-breaker"]) {
        await expectError(await fn.request(path), 404, "not_found");
      }
    });

    await t.step("bad cycle bodies are 400 naming the field", async () => {
      const cases: { body: string | object; field: string; mentions: string }[] = [
        { body: '{"tier": ', field: "body", mentions: "malformed JSON" },
        { body: "[1, 2]", field: "body", mentions: "expected object" },
        { body: { tiers: "health" }, field: "tiers", mentions: "unknown field" },
        { body: { tier: "hourly" }, field: "tier", mentions: '"hourly"' },
        { body: { detectors: ["nope"] }, field: "detectors", mentions: "'nope'" },
        { body: { detectors: [] }, field: "detectors", mentions: "1" },
        { body: { dry_run: "yes" }, field: "dry_run", mentions: "boolean" },
        {
          body: { tier: "health", detectors: ["balance_mismatch_detection"] },
          field: "detectors",
          mentions: "does not run in tier 'health'",
        },
      ];
      for (const { body, field, mentions } of cases) {
        const response = await fn.request("/cycle", { method: "POST", body });
        const error = await expectError(response, 400, "invalid_request");
        assert.equal(error.field, field, JSON.stringify(body));
        assert.ok(error.message.includes(mentions), `${error.message} should mention ${mentions}`);
        assert.ok(error.message.includes(`'${field}'`), error.message);
      }
      const huge = await fn.request("/cycle", {
        method: "POST",
        body: JSON.stringify({ tier: "health", padding: "x".repeat(1_100_000) }),
      });
      await expectError(huge, 413, "payload_too_large");
      const reset = await fn.request("/circuit-breaker/reset", {
        method: "POST",
        body: { name: 42 },
      });
      assert.equal((await expectError(reset, 400, "invalid_request")).field, "name");
    });

    await t.step("a dry run reports what it would do and writes nothing", async () => {
      const before = await countRows(db.sql);
      const response = await fn.request("/cycle", {
        method: "POST",
        body: { tier: "health", dry_run: true },
      });
      const body = await readJson(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.dry_run, true);
      const [heartbeat] = body.detectors as { detector: string; findings: number }[];
      assert.equal(heartbeat.detector, "system_health");
      assert.equal(heartbeat.findings, 1);
      assert.deepEqual(await countRows(db.sql), before);
    });

    await t.step("POST /cycle answers the cycle's summary", async () => {
      const response = await fn.request("/cycle", { method: "POST", body: { tier: "health" } });
      const body = await readJson(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.match(body.cycle_id as string, /^[0-9a-f-]{36}$/);
      assert.deepEqual(body.tiers, ["health"]);
      assert.equal(body.status, "ok");
      assert.equal(typeof body.duration_ms, "number");
      const outcomes = body.detectors as Record<string, unknown>[];
      assert.deepEqual(outcomes.map((o) => [o.detector, o.status]), [["system_health", "ok"]]);
      for (const key of ["findings", "new_events", "resolved_events", "duration_ms"]) {
        assert.equal(typeof outcomes[0][key], "number", key);
      }
      assert.equal(outcomes[0].new_events, 1);
      assert.deepEqual(body.totals, { findings: 1, new_events: 1, resolved_events: 0, failed: 0 });
      const [cycle] = await db.sql`
        select status, tiers from monitoring_cycles where cycle_id = ${body.cycle_id as string}`;
      assert.deepEqual({ ...cycle }, { status: "ok", tiers: ["health"] });

      // No body runs every enabled detector; the festival pack skips (its tables are absent).
      const all = await readJson(await fn.request("/cycle", { method: "POST" }));
      assert.deepEqual(all.tiers, ["critical", "medium", "health", "maintenance"]);
      const festival = (all.detectors as { pack: string; status: string; reason: string }[])
        .filter((o) => o.pack === "festival");
      assert.ok(festival.length >= 4);
      for (const outcome of festival) {
        assert.equal(outcome.status, "skipped");
        assert.match(outcome.reason, /missing tables/);
      }
    });

    await t.step("POST /circuit-breaker/reset closes all breakers, or one by name", async () => {
      await db.sql`
        update monitoring_circuit_breakers set state = 'open', failures = 3, opened_at = now()`;
      const one = await readJson(
        await fn.request("/circuit-breaker/reset", {
          method: "POST",
          body: { name: "detector:system_health" },
        }),
      );
      assert.deepEqual(one, { reset: ["detector:system_health"] });
      const stillOpen = await db.sql`
        select name from monitoring_circuit_breakers where state = 'open' order by name`;
      assert.ok(stillOpen.some((row) => row.name === "cycle"));
      assert.ok(!stillOpen.some((row) => row.name === "detector:system_health"));

      const all = await readJson(await fn.request("/circuit-breaker/reset", { method: "POST" }));
      assert.ok((all.reset as string[]).includes("cycle"));
      const [{ open }] = await db.sql`
        select count(*)::int as open from monitoring_circuit_breakers where state <> 'closed'`;
      assert.equal(open, 0);

      const unknown = await fn.request("/circuit-breaker/reset", {
        method: "POST",
        body: { name: "detector:nope" },
      });
      const error = await expectError(unknown, 404, "not_found");
      assert.match(error.message, /detector:nope/);
    });
  } finally {
    await server?.stop();
    await db.drop();
  }
});

Deno.test("the monitoring-api function, served by `deno serve`, authenticates /health", async () => {
  const db = await createTestDatabase();
  const server = await startFunctionServer("monitoring-api", { databaseUrl: db.url });
  try {
    await expectError(await server.request("/health", { as: "anonymous" }), 401, "unauthorized");
    await expectError(
      await server.request("/health", { as: "anonymous", headers: { apikey: "sb_secret_x" } }),
      401,
      "unauthorized",
    );
    // The cron secret is for the monitoring function's cycles only.
    await expectError(await server.request("/health", { as: "cron" }), 401, "unauthorized");
    for (const caller of ["service_role", "secret_key"] satisfies Caller[]) {
      const response = await server.request("/health", { as: caller });
      const body = await readJson(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.ok(["healthy", "degraded"].includes(body.status as string));
    }
  } finally {
    await server.stop();
    await db.drop();
  }
});

Deno.test("a function with a malformed env refuses to start, naming the variable", async () => {
  await assert.rejects(
    startFunctionServer("monitoring", {
      databaseUrl: "postgres://postgres@127.0.0.1:1/none",
      env: { MONITORING_DB_POOL_MAX: "many" },
    }),
    /exited with 1:[\s\S]*Invalid environment: MONITORING_DB_POOL_MAX/,
  );
});
