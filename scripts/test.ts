/**
 * `deno task test`: runs the whole suite against a real Postgres. Uses
 * DATABASE_URL's server when set, else starts an embedded one; prepares a migrated
 * template database that each test file copies, then runs `deno test`, and the
 * formatting, lint and type checks CI enforces.
 */
import { databaseFromEnv } from "../src/db/embedded.ts";
import { connect } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";

const args = Deno.args;
const checksOnly = args.includes("--checks-only");
const skipChecks = args.includes("--no-checks");
const testArgs = args.filter((arg) => !arg.startsWith("--checks-only") && arg !== "--no-checks");

async function run(cmd: string[], env: Record<string, string> = {}): Promise<boolean> {
  console.log(`\n$ ${cmd.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: cmd,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn();
  const status = await child.status;
  return status.success;
}

let ok = true;
if (!skipChecks) {
  ok = (await run(["fmt", "--check"])) && ok;
  ok = (await run(["lint"])) && ok;
  ok = (await run(["check", "src/", "scripts/", "tests/", "supabase/functions/"])) && ok;
}

if (!checksOnly) {
  const db = await databaseFromEnv();
  console.log(db.embedded ? `embedded Postgres on port ${db.port}` : `Postgres from DATABASE_URL`);
  try {
    const template = `monitoring_template_${Deno.pid}`;
    const admin = connect(db.url, { max: 1 });
    await admin`drop database if exists ${admin(template)} with (force)`;
    await admin`create database ${admin(template)}`;
    await admin.end();
    const templateUrl = new URL(db.url);
    templateUrl.pathname = `/${template}`;
    const sql = connect(templateUrl.toString(), { max: 1 });
    const result = await migrate(sql);
    await sql.end();
    console.log(`template ${template}: ${result.applied.length} migrations applied`);
    const junit = await Deno.makeTempFile({ prefix: "monitoring-junit-", suffix: ".xml" });
    ok = (await run([
      "test",
      "-A",
      "--parallel",
      `--junit-path=${junit}`,
      ...(testArgs.length ? testArgs : ["tests/"]),
    ], {
      TEST_SERVER_URL: db.url,
      TEST_TEMPLATE_DB: template,
      LOG_LEVEL: Deno.env.get("LOG_LEVEL") ?? "silent",
    })) && ok;
    // One plain closing line that any CI can read, whatever it makes of Deno's own.
    const totals = /<testsuites[^>]*\btests="(\d+)"[^>]*\bfailures="(\d+)"[^>]*\berrors="(\d+)"/
      .exec(await Deno.readTextFile(junit).catch(() => ""));
    if (totals) {
      const [tests, failures, errors] = totals.slice(1).map(Number);
      console.log(`\n${tests - failures - errors} passed, ${failures + errors} failed`);
    }
    await Deno.remove(junit).catch(() => {});
    const cleanup = connect(db.url, { max: 1 });
    await cleanup`drop database if exists ${cleanup(template)} with (force)`;
    await cleanup.end();
  } finally {
    await db.stop();
  }
}
Deno.exit(ok ? 0 : 1);
