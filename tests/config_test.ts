import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import type { TestDatabase } from "./_helpers/database.ts";
import { startFunctionServer } from "./_helpers/function_server.ts";
import { ago, insertTransactions } from "./_helpers/festival_data.ts";
import { cycle, festivalDatabase, openEvents, outcomeOf } from "./_helpers/app.ts";
import { setConfig } from "./_helpers/test_packs.ts";
import { loadRuntimeConfig, seedRuntimeConfig } from "../src/config/runtime_config.ts";
import { allConfigSpecs } from "../src/config/all_specs.ts";
import { breakerConfig, cycleConfig } from "../src/config/core_config.ts";
import { PACKS } from "../src/detectors/registry.ts";
import { readEnv, secretKeys } from "../src/config/env.ts";

/** Three failed charges on one card a minute apart: a streak under the default rule. */
async function plantStreak(db: TestDatabase, card: string) {
  await insertTransactions(
    db.sql,
    [180, 120, 60].map((seconds) => ({
      card,
      type: "bar_order" as const,
      status: "failed" as const,
      amount: 5,
      previous: 20,
      next: 20,
      at: ago(seconds),
    })),
  );
}

Deno.test("a config row that fails validation falls back to defaults, the cycle runs, and /status names key and field", async () => {
  const db = await festivalDatabase();
  const server = await startFunctionServer("monitoring", { databaseUrl: db.url });
  try {
    await setConfig(db.sql, "detector.consecutive_failures", { min_failures: "three" });
    await plantStreak(db, "STREAK");

    const response = await server.request("/cycle", {
      method: "POST",
      body: { tier: "critical" },
    });
    const summary = await response.json();
    assert.equal(response.status, 200, JSON.stringify(summary));
    assert.equal(summary.status, "ok");
    // The default (3 in a row) applied: the streak is found.
    assert.equal(outcomeOf(summary, "consecutive_failures").new_events, 1);
    assert.deepEqual((await openEvents(db.sql, "consecutive_failures")).map((e) => e.card_id), [
      "STREAK",
    ]);
    const [error] = summary.config_errors;
    assert.equal(error.key, "detector.consecutive_failures");
    assert.match(error.message, /^min_failures: .*expected number.*\(using defaults\)$/);

    const status = await (await server.request("/status")).json();
    assert.deepEqual(status.config_errors, summary.config_errors);
    const detector = status.detectors.find((d: { id: string }) => d.id === "consecutive_failures");
    assert.equal(detector.enabled, true);
    assert.equal(detector.last_run.status, "ok");
  } finally {
    await server.stop();
    await db.drop();
  }
});

Deno.test("loadRuntimeConfig() merges partial rows with defaults and reports wrong shapes and unknown fields", async () => {
  const db = await createTestDatabase();
  try {
    const specs = allConfigSpecs(PACKS);
    await setConfig(db.sql, "cycle", { detector_timeout_ms: 2500 });
    await setConfig(db.sql, "breaker", "open sesame");
    await setConfig(db.sql, "tiers", { critical: 60, critcal: 10 });
    await setConfig(db.sql, "detector.duplicate_nfc_scans", { enabled: false });
    const config = await loadRuntimeConfig(db.sql, specs);

    assert.deepEqual(config.get(cycleConfig), {
      backfill_hours: 24,
      detector_timeout_ms: 2500,
      lease_seconds: 150,
      change_batch_size: 50_000,
      parallel_detectors: 2,
    });
    assert.deepEqual(config.get(breakerConfig), {
      failure_threshold: 3,
      window_seconds: 600,
      cooldown_seconds: 120,
    });
    assert.deepEqual(
      config.errors.map((e) => [e.key, e.message]),
      [
        ["breaker", "(value): Invalid input: expected object, received string (using defaults)"],
        ["tiers", "unknown field 'critcal' (ignored; check the spelling)"],
      ],
    );
  } finally {
    await db.drop();
  }
});

Deno.test("a detector disabled in monitoring_config is skipped with the key to flip", async () => {
  const db = await festivalDatabase();
  try {
    await setConfig(db.sql, "detector.consecutive_failures", { enabled: false });
    await plantStreak(db, "QUIET");
    const summary = await cycle(db.sql, { tier: "critical" });
    const outcome = outcomeOf(summary, "consecutive_failures");
    assert.equal(outcome.status, "skipped");
    assert.match(outcome.reason!, /detector\.consecutive_failures/);
    assert.equal((await openEvents(db.sql, "consecutive_failures")).length, 0);
  } finally {
    await db.drop();
  }
});

Deno.test("seedRuntimeConfig() writes every default once and never overwrites an operator's row", async () => {
  const db = await createTestDatabase();
  try {
    const specs = allConfigSpecs(PACKS);
    await setConfig(db.sql, "breaker", { failure_threshold: 7 });
    const inserted = await seedRuntimeConfig(db.sql, specs);
    assert.equal(inserted, specs.length - 1);
    assert.equal(await seedRuntimeConfig(db.sql, specs), 0);
    const [breaker] = await db.sql`select value from monitoring_config where key = 'breaker'`;
    assert.deepEqual(breaker.value, { failure_threshold: 7 });
    const [detector] = await db.sql`
      select value from monitoring_config where key = 'detector.consecutive_failures'`;
    assert.deepEqual(detector.value, { min_failures: 3, window_minutes: 15, enabled: true });
    // Seeded rows validate cleanly.
    assert.deepEqual((await loadRuntimeConfig(db.sql, specs)).errors, []);
  } finally {
    await db.drop();
  }
});

Deno.test("readEnv() treats empty variables as unset and refuses malformed ones by name", () => {
  const env = readEnv({ SUPABASE_SERVICE_ROLE_KEY: "", DATABASE_URL: "  ", LOG_LEVEL: "silent" });
  assert.equal(env.SUPABASE_SERVICE_ROLE_KEY, undefined);
  assert.equal(env.DATABASE_URL, undefined);
  assert.equal(env.MONITORING_DB_POOL_MAX, 1);

  const cases: [Record<string, string>, string[]][] = [
    [{ SUPABASE_SECRET_KEYS: "sb_secret_a, sb_secret_b" }, ["sb_secret_a", "sb_secret_b"]],
    [{ SUPABASE_SECRET_KEYS: '{"default": "sb_secret_a", "ci": "sb_secret_c"}' }, [
      "sb_secret_a",
      "sb_secret_c",
    ]],
    [{}, []],
  ];
  for (const [source, keys] of cases) assert.deepEqual(secretKeys(readEnv(source)), keys);

  assert.throws(
    () => readEnv({ SUPABASE_SECRET_KEYS: '{"default": ' }),
    /^Error: Invalid environment: SUPABASE_SECRET_KEYS: Cannot parse SUPABASE_SECRET_KEYS/,
  );
  assert.throws(
    () => readEnv({ MONITORING_DB_POOL_MAX: "500" }),
    /Invalid environment: MONITORING_DB_POOL_MAX: /,
  );
});
