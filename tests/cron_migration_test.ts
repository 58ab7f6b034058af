import assert from "node:assert/strict";
import { connect } from "../src/db/client.ts";
import type { Sql } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { createTestDatabase } from "./_helpers/database.ts";

Deno.test("monitoring_cron_expression() uses sub-minute schedules only where pg_cron supports them", async () => {
  const db = await createTestDatabase();
  try {
    const cases: [seconds: number, subMinute: boolean, expected: string][] = [
      [30, true, "30 seconds"],
      [30, false, "* * * * *"],
      [60, true, "* * * * *"],
      [120, false, "*/2 * * * *"],
      [300, true, "*/5 * * * *"],
      [3600, false, "0 */1 * * *"],
      [6 * 3600, false, "0 */6 * * *"],
      [86400, true, "0 0 * * *"],
    ];
    for (const [seconds, subMinute, expected] of cases) {
      const [row] = await db.sql<{ expression: string }[]>`
        select monitoring_cron_expression(${seconds}, ${subMinute}) as expression`;
      assert.equal(row.expression, expected, `${seconds}s, sub_minute=${subMinute}`);
    }
    const [timeouts] = await db.sql<{ critical: number; maintenance: number }[]>`
      select monitoring_cron_timeout_ms(30) as critical, monitoring_cron_timeout_ms(3600) as maintenance`;
    assert.deepEqual(timeouts, { critical: 25000, maintenance: 150000 });
  } finally {
    await db.drop();
  }
});

Deno.test("the cron migration applies without pg_cron, pg_net or Vault and schedules nothing", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    const result = await migrate(db.sql);
    assert.ok(result.applied.some((name) => name.endsWith("_cron_schedules")));
    const [row] = await db.sql<{ result: { scheduled: boolean; reason: string } }[]>`
      select monitoring_schedule_cron() as result`;
    assert.equal(row.result.scheduled, false);
    assert.match(row.result.reason, /pg_cron|pg_net|Vault/);
    // Re-running finds nothing to do.
    assert.deepEqual((await migrate(db.sql)).applied, []);
  } finally {
    await db.drop();
  }
});

// The pg_cron test needs a server with pg_cron preloaded (Debian's postgresql-15-cron;
// .ci/run installs and configures it). pg_cron can only be created in the database
// named by cron.database_name, so the test owns that database.
const cronServerUrl = Deno.env.get("CRON_TEST_SERVER_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const cronServer = await probeCronServer(cronServerUrl);
if (!cronServer.ready) {
  console.log(`cron_migration_test: pg_cron test skipped: ${cronServer.reason}`);
}

async function probeCronServer(
  url: string,
): Promise<{ ready: true; database: string } | { ready: false; reason: string }> {
  const sql = connect(url, { max: 1, connectTimeoutSeconds: 2 });
  try {
    const [row] = await sql<{ preload: string; database: string | null; available: boolean }[]>`
      select current_setting('shared_preload_libraries') as preload,
        current_setting('cron.database_name', true) as database,
        exists (select 1 from pg_available_extensions where name = 'pg_cron') as available`;
    if (!row.available) return { ready: false, reason: `pg_cron is not installed on ${url}` };
    if (!row.preload.split(",").map((s) => s.trim()).includes("pg_cron")) {
      return { ready: false, reason: "pg_cron is not in shared_preload_libraries" };
    }
    if (!row.database || row.database === "postgres") {
      return {
        ready: false,
        reason: "cron.database_name must name a database this test may drop (not postgres)",
      };
    }
    return { ready: true, database: row.database };
  } catch (error) {
    return { ready: false, reason: `no server at ${url}: ${(error as Error).message}` };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Stand-ins for pg_net and Vault, which Debian does not package: they record what a job sends. */
async function createNetAndVaultStandIns(sql: Sql): Promise<void> {
  await sql.unsafe(`
    create schema net;
    create table net.sent_requests (
      id bigint generated always as identity primary key,
      url text, body jsonb, params jsonb, headers jsonb, timeout_milliseconds int);
    create function net.http_post(
      url text, body jsonb default '{}', params jsonb default '{}',
      headers jsonb default '{}', timeout_milliseconds int default 5000)
    returns bigint language sql as $$
      insert into net.sent_requests (url, body, params, headers, timeout_milliseconds)
      values (url, body, params, headers, timeout_milliseconds) returning id
    $$;
    create schema vault;
    create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
  `);
}

Deno.test({
  name:
    "the cron migration registers the four tiers with pg_cron, calling /cycle with the cron secret",
  ignore: !cronServer.ready,
  async fn() {
    if (!cronServer.ready) return;
    const database = cronServer.database;
    const admin = connect(cronServerUrl, { max: 1 });
    await admin`drop database if exists ${admin(database)} with (force)`;
    await admin`create database ${admin(database)}`;
    const url = new URL(cronServerUrl);
    url.pathname = `/${database}`;
    const sql = connect(url.toString(), { max: 1 });
    try {
      await createNetAndVaultStandIns(sql);
      await migrate(sql);
      const [{ version }] = await sql<{ version: string }[]>`
        select extversion as version from pg_extension where extname = 'pg_cron'`;
      const subMinute = Number(version.split(/[.-]/)[0]) > 1 ||
        Number(version.split(/[.-]/)[1]) >= 5;

      const jobs = await sql<{ jobname: string; schedule: string; command: string }[]>`
        select jobname, schedule, command from cron.job order by jobid`;
      assert.deepEqual([...jobs], [
        {
          jobname: "monitoring-critical",
          schedule: subMinute ? "30 seconds" : "* * * * *",
          command: "select monitoring_cron_invoke('critical', 25000)",
        },
        {
          jobname: "monitoring-medium",
          schedule: "*/2 * * * *",
          command: "select monitoring_cron_invoke('medium', 115000)",
        },
        {
          jobname: "monitoring-health",
          schedule: "*/5 * * * *",
          command: "select monitoring_cron_invoke('health', 150000)",
        },
        {
          jobname: "monitoring-maintenance",
          schedule: "0 */1 * * *",
          command: "select monitoring_cron_invoke('maintenance', 150000)",
        },
      ]);

      // Without the Vault secrets a job fails loudly, naming what to store.
      await assert.rejects(
        sql.unsafe(jobs[0].command),
        /store monitoring_project_url and monitoring_cron_secret in Vault/,
      );
      await sql`
        insert into vault.decrypted_secrets values
          ('monitoring_project_url', 'https://abcd.supabase.co/'),
          ('monitoring_cron_secret', 'cron-secret-for-test')`;
      for (const job of jobs) await sql.unsafe(job.command);
      const sent = await sql<
        { url: string; body: unknown; headers: Record<string, string>; timeout: number }[]
      >`
        select url, body, headers, timeout_milliseconds as timeout
        from net.sent_requests order by id`;
      assert.deepEqual(sent.map((request) => request.body), [
        { tier: "critical" },
        { tier: "medium" },
        { tier: "health" },
        { tier: "maintenance" },
      ]);
      for (const request of sent) {
        assert.equal(request.url, "https://abcd.supabase.co/functions/v1/monitoring/cycle");
        assert.equal(request.headers["x-monitoring-cron-secret"], "cron-secret-for-test");
        assert.equal(request.headers["authorization"], undefined, "never the service key");
        assert.ok(request.timeout >= 5000 && request.timeout <= 150000);
      }

      // Re-scheduling replaces jobs by name and follows the configured intervals.
      await sql`
        insert into monitoring_config (key, value) values ('tiers', '{"critical": 60, "medium": 600}')
        on conflict (key) do update set value = excluded.value`;
      await sql`select monitoring_schedule_cron()`;
      const rescheduled = await sql<{ jobname: string; schedule: string }[]>`
        select jobname, schedule from cron.job order by jobid`;
      assert.equal(rescheduled.length, 4);
      assert.deepEqual(
        Object.fromEntries(rescheduled.map((job) => [job.jobname, job.schedule])),
        {
          "monitoring-critical": "* * * * *",
          "monitoring-medium": "*/10 * * * *",
          "monitoring-health": "*/5 * * * *",
          "monitoring-maintenance": "0 */1 * * *",
        },
      );
      const [{ removed }] = await sql<{ removed: number }[]>`
        select monitoring_unschedule_cron() as removed`;
      assert.equal(removed, 4);
    } finally {
      await sql.end({ timeout: 1 });
      await admin`drop database if exists ${admin(database)} with (force)`;
      await admin.end();
    }
  },
});
