import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { insertTransactions } from "./_helpers/festival_data.ts";
import { runCli } from "../src/cli/main.ts";
import { EXIT } from "../src/cli/cli_io.ts";
import { startReadyProcess } from "./_helpers/ready_process.ts";

const SERVICE_KEY = "cli-test-service-role-key";

/**
 * `deno task dev` (scripts/dev.ts, i.e. startDevServer) as a subprocess on a free
 * port against the test database: the CLI meets the same server an operator runs.
 * A subprocess, because DATABASE_URL is process-wide and test files run in parallel.
 */
async function startDevServerProcess(databaseUrl: string) {
  const server = await startReadyProcess({
    args: ["run", "-A", new URL("../scripts/dev.ts", import.meta.url).pathname],
    env: {
      DATABASE_URL: databaseUrl,
      SUPABASE_DB_URL: "",
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      PORT: "0",
      MONITORING_SCHEDULE: "off",
      LOG_LEVEL: "silent",
    },
    ready: /ready: (http:\/\/127\.0\.0\.1:\d+)\/functions/,
  });
  return { url: server.ready, stop: server.stop };
}

/** Calls `attempt` until `done` accepts its result (at most ~10 s), and returns that result. */
async function eventually<T>(attempt: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await attempt();
  for (let i = 0; i < 50 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await attempt();
  }
  return value;
}

/** Runs the CLI in-process and captures what it printed. */
async function monitor(env: Record<string, string | undefined>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("deno task monitor, command by command, against the dev server", async (t) => {
  const db = await createTestDatabase();
  await createPlatformTables(db.sql, ["festival"]);
  const server = await startDevServerProcess(db.url);
  const env = { SUPABASE_URL: server.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY };
  let failedChargeEvent = 0;
  let dropped = false;
  try {
    await t.step(
      "monitor health exits 3 while tiers have never run, 0 once every tier ran",
      async () => {
        const before = await monitor(env, "health");
        assert.equal(before.code, EXIT.degraded, before.out);
        assert.match(before.out, /monitoring: DEGRADED/);
        assert.match(before.out, /critical\s+never_run\s+30s\s+never/);
        assert.match(before.out, /! tier critical has never run/);

        const cycle = await monitor(env, "cycle");
        assert.equal(cycle.code, EXIT.ok, cycle.err);
        const after = await monitor(env, "health");
        assert.equal(after.code, EXIT.ok, after.out);
        assert.match(after.out, /monitoring: HEALTHY/);
        const json = JSON.parse((await monitor(env, "health", "--json")).out);
        assert.equal(json.status, "healthy");
        assert.equal(json.checks.tiers.maintenance.status, "fresh");
      },
    );

    await t.step(
      "monitor cycle runs one tier, prints each detector and reports what maintenance did",
      async () => {
        await insertTransactions(db.sql, [
          { card: "CLI-1", type: "bar_order", status: "failed", amount: 9, previous: 20, next: 11 },
        ]);
        // A row is read once no older transaction anywhere on the server can still
        // commit before it (the change feed's horizon), so under a busy test server
        // it may take a cycle or two: a dry run moves no watermark and can be repeated.
        const dry = await eventually(
          () => monitor(env, "cycle", "--tier", "critical", "--dry-run"),
          (run) => /would record: .*CLI-1/.test(run.out),
        );
        assert.equal(dry.code, EXIT.ok, dry.err);
        assert.match(dry.out, /: dry_run in \d+ ms \(tiers: critical\)/);
        assert.match(dry.out, /would record: .*CLI-1/);

        const critical = await monitor(env, "cycle", "--tier", "critical", "--json");
        const summary = JSON.parse(critical.out);
        const outcome = summary.detectors.find((d: { detector: string }) =>
          d.detector === "balance_deduction_on_failure"
        );
        assert.equal(outcome.new_events, 1);

        const maintenance = await monitor(env, "cycle", "--tier", "maintenance");
        assert.equal(maintenance.code, EXIT.ok, maintenance.err);
        assert.match(maintenance.out, /retention_cleanup\s+maintenance\s+incremental\s+ok/);
        assert.match(
          maintenance.out,
          /retention_cleanup: deleted alerts 0, changes \d+, cycles 0, detector_runs 0, events 0, silences 0, snapshots 0/,
        );
        assert.match(maintenance.out, /refresh_views: .*monitoring_events/);
      },
    );

    await t.step(
      "monitor cycle refuses a bad tier (exit 2) and an unknown detector (exit 2, from the API's 400)",
      async () => {
        const tier = await monitor(env, "cycle", "--tier", "hourly");
        assert.equal(tier.code, EXIT.usage);
        assert.match(tier.err, /Cannot parse tier: received 'hourly'/);
        const detector = await monitor(env, "cycle", "--detector", "no_such_detector");
        assert.equal(detector.code, EXIT.usage);
        assert.match(detector.err, /400 invalid_request: .*no_such_detector/);
      },
    );

    await t.step(
      "monitor events lists events as a table with filters, and --json for scripts",
      async () => {
        const listed = await monitor(env, "events", "--severity", "critical", "--since", "1h");
        assert.equal(listed.code, EXIT.ok, listed.err);
        const lines = listed.out.split("\n");
        assert.match(lines[0], /^ID\s+SEVERITY\s+STATUS\s+DETECTOR\s+SUBJECT/);
        assert.equal(lines.length, 2, listed.out);
        assert.match(lines[1], /CRITICAL\s+OPEN\s+balance_deduction_on_failure\s+card CLI-1/);

        const json = JSON.parse((await monitor(env, "events", "--pack", "festival", "--json")).out);
        assert.equal(json.events.length, 1);
        failedChargeEvent = json.events[0].event_id;

        const none = await monitor(env, "events", "--card", "nobody");
        assert.equal(none.out, "no events match");
        const bad = await monitor(env, "events", "--severity", "urgent");
        assert.equal(bad.code, EXIT.usage);
        assert.match(bad.err, /severity/);
      },
    );

    await t.step(
      "monitor show, ack, resolve and false-positive move an event and print its history",
      async () => {
        const shown = await monitor(env, "show", String(failedChargeEvent));
        assert.equal(shown.code, EXIT.ok, shown.err);
        assert.match(shown.out, new RegExp(`^event\\s+${failedChargeEvent} CRITICAL OPEN`, "m"));
        assert.match(shown.out, /subject\s+card CLI-1/);
        assert.match(shown.out, /"deducted": 9/);

        const ack = await monitor(
          env,
          "ack",
          String(failedChargeEvent),
          "--notes",
          "checking the bar",
        );
        assert.equal(ack.code, EXIT.ok, ack.err);
        assert.match(ack.out, /ACKNOWLEDGED/);

        const noNotes = await monitor(env, "resolve", String(failedChargeEvent));
        assert.equal(noNotes.code, EXIT.usage);
        assert.match(noNotes.err, /--notes is required/);

        const resolved = await monitor(
          env,
          "resolve",
          String(failedChargeEvent),
          "--notes",
          "refunded 9.00 by manual correction",
        );
        assert.equal(resolved.code, EXIT.ok, resolved.err);
        const [row] = await db.sql<
          { status: string; resolution_notes: string; resolved: boolean }[]
        >`
        select status, resolution_notes, resolved_at is not null as resolved
        from monitoring_events where event_id = ${failedChargeEvent}`;
        assert.deepEqual({ ...row }, {
          status: "RESOLVED",
          resolution_notes: "refunded 9.00 by manual correction",
          resolved: true,
        });

        // A closed event cannot be closed again: the API's 409 is exit 1 with its reason.
        const again = await monitor(
          env,
          "false-positive",
          String(failedChargeEvent),
          "--notes",
          "x",
        );
        assert.equal(again.code, EXIT.failed);
        assert.match(again.err, /409 .*RESOLVED/);

        const history = await monitor(env, "show", String(failedChargeEvent));
        assert.match(history.out, /status changes:/);
        assert.match(history.out, /OPEN\s+ACKNOWLEDGED/);

        const badId = await monitor(env, "show", "12x");
        assert.equal(badId.code, EXIT.usage);
        assert.match(badId.err, /Cannot parse id: received '12x'/);
        const missing = await monitor(env, "show", "999999");
        assert.equal(missing.code, EXIT.failed);
        assert.match(missing.err, /404/);
      },
    );

    await t.step(
      "monitor silence validates its arguments and creates, lists and expires silences",
      async () => {
        const noComment = await monitor(env, "silence", "create", "--matcher", "pack=festival");
        assert.equal(noComment.code, EXIT.usage);
        const both = await monitor(
          env,
          "silence",
          "create",
          "--matcher",
          "pack=festival",
          "--comment",
          "x",
          "--duration",
          "2h",
          "--until",
          "2030-01-01T00:00:00Z",
        );
        assert.equal(both.code, EXIT.usage);
        assert.match(both.err, /either --duration/);
        const badDuration = await monitor(
          env,
          "silence",
          "create",
          "--matcher",
          "pack=festival",
          "--comment",
          "x",
          "--duration",
          "2 hours",
        );
        assert.match(badDuration.err, /Cannot parse duration: received '2 hours'/);
        assert.equal((await monitor(env, "silence", "mute")).code, EXIT.usage);

        const list = await monitor(env, "silence", "list");
        if (/404 not_found/.test(list.err)) {
          // The silences routes come with the alerts stage; until they are served, the CLI
          // must say so plainly and fail.
          console.log("cli_test: monitoring-api does not serve /silences yet; round trip not run");
          assert.equal(list.code, EXIT.failed);
          return;
        }
        const created = await monitor(
          env,
          "silence",
          "create",
          "--matcher",
          "pack=festival",
          "--duration",
          "2h",
          "--comment",
          "card database migration",
          "--by",
          "ops",
          "--json",
        );
        assert.equal(created.code, EXIT.ok, created.err);
        const silence = JSON.parse(created.out);
        const active = await monitor(env, "silence", "list", "--state", "active");
        assert.match(active.out, /pack=festival/);
        const expired = await monitor(env, "silence", "expire", String(silence.silence_id));
        assert.equal(expired.code, EXIT.ok, expired.err);
        const after = await monitor(env, "silence", "list", "--state", "active");
        assert.doesNotMatch(after.out, /card database migration/);
      },
    );

    await t.step(
      "monitor breaker reset closes an open breaker by name, and all of them without one",
      async () => {
        await db.sql`
        insert into monitoring_circuit_breakers (name, state, failures, opened_at, last_error)
        values ('detector:duplicate_nfc_scans', 'open', 3, now(), 'statement timeout')
        on conflict (name) do update set state = 'open', failures = 3, opened_at = now()`;
        const degraded = await monitor(env, "health");
        assert.equal(degraded.code, EXIT.degraded);
        assert.match(degraded.out, /not closed: detector:duplicate_nfc_scans/);
        const status = await monitor(env, "status");
        assert.match(status.out, /duplicate_nfc_scans\s+festival\s+critical\s+yes\s+open/);

        const reset = await monitor(env, "breaker", "reset", "detector:duplicate_nfc_scans");
        assert.equal(reset.code, EXIT.ok, reset.err);
        assert.equal(reset.out, "reset: detector:duplicate_nfc_scans");
        const unknown = await monitor(env, "breaker", "reset", "detector:nope");
        assert.equal(unknown.code, EXIT.failed);
        assert.match(unknown.err, /404/);
        assert.equal((await monitor(env, "breaker", "open")).code, EXIT.usage);
        assert.equal((await monitor(env, "health")).code, EXIT.ok);
      },
    );

    await t.step(
      "monitor snapshot takes a health snapshot now and exits by its verdict",
      async () => {
        const before = await db.sql<{ n: number }[]>`
        select count(*)::int as n from system_health_snapshots`;
        const taken = await monitor(env, "snapshot");
        // The failed charge is the only transaction of the hour: 0 % success is CRITICAL.
        assert.equal(taken.code, EXIT.failed, taken.out + taken.err);
        assert.match(
          taken.out,
          /^snapshot \d+: CRITICAL\nSystem health CRITICAL: success rate 0\.0%/,
        );
        assert.match(taken.out, /transactions \(1h\):\s+1$/m);
        const after = await db.sql<{ n: number }[]>`
        select count(*)::int as n from system_health_snapshots`;
        assert.equal(after[0].n, before[0].n + 1);
      },
    );

    await t.step(
      "monitor setup seeds config and installs capture and indexes, idempotently",
      async () => {
        const noUrl = await monitor({}, "setup");
        assert.equal(noUrl.code, EXIT.usage);
        assert.match(noUrl.err, /SUPABASE_DB_URL or DATABASE_URL/);

        await db.sql`delete from monitoring_config where key = 'retention'`;
        const first = await monitor({ DATABASE_URL: db.url }, "setup", "--json");
        assert.equal(first.code, EXIT.ok, first.err);
        const report = JSON.parse(first.out);
        assert.deepEqual(report.config_seeded, ["retention"]);
        const festival = report.packs.find((p: { pack: string }) => p.pack === "festival");
        assert.equal(festival.status, "ready");
        assert.deepEqual(festival.capture.sort(), [
          "app_transaction_log",
          "nfc_scan_log",
          "table_cards",
        ]);

        const again = await monitor({ DATABASE_URL: db.url }, "setup", "--json");
        const packs: { indexesCreated: string[]; indexesPresent: string[] }[] =
          JSON.parse(again.out).packs;
        assert.deepEqual(packs.flatMap((p) => p.indexesCreated), [], "nothing left to build");
        assert.ok(packs.flatMap((p) => p.indexesPresent).length > 0);

        const table = await monitor({ DATABASE_URL: db.url }, "setup");
        assert.match(table.out, /config: every key already present/);
        assert.match(table.out, /exchange\s+skipped.*missing tables/);
      },
    );

    await t.step(
      "monitor exits 1 on wrong credentials or an unreachable project, 2 without SUPABASE_URL",
      async () => {
        const wrongKey = await monitor({ ...env, SUPABASE_SERVICE_ROLE_KEY: "wrong" }, "status");
        assert.equal(wrongKey.code, EXIT.failed);
        assert.match(wrongKey.err, /401 unauthorized/);
        const unreachable = await monitor(
          { SUPABASE_URL: "http://127.0.0.1:1", SUPABASE_SERVICE_ROLE_KEY: "k" },
          "health",
        );
        assert.equal(unreachable.code, EXIT.failed);
        assert.match(unreachable.err, /Cannot reach http:\/\/127\.0\.0\.1:1/);
        const unset = await monitor({}, "health");
        assert.equal(unset.code, EXIT.usage);
        assert.match(unset.err, /SUPABASE_URL/);
        assert.equal((await monitor(env)).code, EXIT.usage);
        assert.equal((await monitor(env, "frobnicate")).code, EXIT.usage);
        assert.equal((await monitor(env, "--help")).code, EXIT.ok);
      },
    );

    await t.step(
      "deno task scheduler runs every tier through the function, then stops on SIGTERM",
      async () => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", new URL("../scripts/scheduler.ts", import.meta.url).pathname],
          env: { ...env, LOG_LEVEL: "silent" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        let tiers: string[] = [];
        for (let i = 0; i < 300 && tiers.length < 4; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const [row] = await db.sql<{ tiers: string[] }[]>`
          select coalesce(array_agg(distinct t order by t), '{}') as tiers
          from monitoring_cycles, unnest(tiers) t where trigger = 'scheduler'`;
          tiers = row.tiers;
        }
        child.kill("SIGTERM");
        const { code, stderr } = await child.output();
        assert.deepEqual(tiers, ["critical", "health", "maintenance", "medium"]);
        assert.equal(code, 0, new TextDecoder().decode(stderr));
      },
    );

    await t.step(
      "deno task monitor health exits 1 (unhealthy) once the database is gone",
      async () => {
        await db.drop();
        dropped = true;
        const child = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", new URL("../scripts/monitor.ts", import.meta.url).pathname, "health"],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const out = new TextDecoder().decode(child.stdout);
        assert.equal(child.code, EXIT.failed, out + new TextDecoder().decode(child.stderr));
        assert.match(out, /monitoring: UNHEALTHY/);
        assert.match(out, /database:\s+down/);
        await server.stop();
      },
    );
  } finally {
    await server.stop();
    if (!dropped) await db.drop();
  }
});
