import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { startReadyProcess } from "./_helpers/ready_process.ts";

const SERVICE_KEY = "bundle-test-service-role-key";

/**
 * Serves one bundled function the way a bare runtime would: `deno serve` from a
 * folder with no deno.json, no node_modules and npm resolution off, so the bundle
 * runs only if it is truly self-contained.
 */
async function serveBundle(file: string, cwd: string, databaseUrl: string) {
  const server = await startReadyProcess({
    args: [
      "serve",
      "--no-config",
      "--no-npm",
      "--no-remote",
      "-A",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      file,
    ],
    cwd,
    env: {
      DATABASE_URL: databaseUrl,
      SUPABASE_DB_URL: "",
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      LOG_LEVEL: "silent",
    },
    ready: /Listening on (http:\/\/127\.0\.0\.1:\d+)\//,
    timeoutMs: 30_000,
    graceMs: 500,
  });
  return { origin: server.ready, stop: server.stop };
}

Deno.test("deno task bundle writes self-contained functions that serve /health and run a cycle", async () => {
  const out = await Deno.makeTempDir({ prefix: "monitoring-bundle-" });
  const db = await createTestDatabase();
  try {
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../scripts/bundle.ts", import.meta.url).pathname, "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    assert.match(new TextDecoder().decode(built.stdout), /bundled monitoring-api: .*KiB/);

    const config = await Deno.readTextFile(`${out}/supabase/config.toml`);
    for (const name of ["monitoring", "monitoring-api"]) {
      assert.match(
        config,
        new RegExp(
          `\\[functions\\.${name}\\]\\nentrypoint = "\\./functions/${name}/index\\.js"[^[]*verify_jwt = false`,
        ),
      );
    }

    const monitoring = await serveBundle(
      `${out}/supabase/functions/monitoring/index.js`,
      out,
      db.url,
    );
    try {
      const auth = { authorization: `Bearer ${SERVICE_KEY}` };
      const health = await fetch(`${monitoring.origin}/monitoring/health`, { headers: auth });
      const report = await health.json();
      assert.equal(report.checks.database.status, "up");
      assert.match(health.headers.get("content-type") ?? "", /^application\/json/);

      const cycle = await fetch(`${monitoring.origin}/monitoring/cycle`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ tier: "health" }),
      });
      assert.equal(cycle.status, 200);
      assert.equal((await cycle.json()).status, "ok");
      const [{ n }] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from system_health_snapshots`;
      assert.equal(n, 1);

      const anonymous = await fetch(`${monitoring.origin}/monitoring/health`);
      assert.equal(anonymous.status, 401);
      await anonymous.body?.cancel();
    } finally {
      await monitoring.stop();
    }

    const api = await serveBundle(
      `${out}/supabase/functions/monitoring-api/index.js`,
      out,
      db.url,
    );
    try {
      const health = await fetch(`${api.origin}/monitoring-api/health`, {
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });
      assert.equal((await health.json()).checks.database.status, "up");
    } finally {
      await api.stop();
    }
  } finally {
    await db.drop();
    await Deno.remove(out, { recursive: true });
  }
});
