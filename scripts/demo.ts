/**
 * `deno task demo`: a festival evening in one command. Starts the dev server (an
 * embedded Postgres unless DATABASE_URL is set), creates the festival's tables,
 * generates hours of traffic with planted anomalies, runs every tier over HTTP as
 * an operator would, prints what the monitor found and exits 0 only when every
 * planted anomaly was found and nothing else was flagged.
 *
 *   --serve     keep serving afterwards with the scheduler on, until Ctrl-C
 *   --verbose   show the service's JSON log lines
 */
import { startDevServer } from "../src/dev/dev_server.ts";
import { demoTraffic } from "../src/demo/demo_traffic.ts";
import { functionsClient } from "../src/demo/functions_client.ts";
import { demoSucceeded, runDemoScenario } from "../src/demo/demo_scenario.ts";
import { formatDemoReport } from "../src/demo/demo_report.ts";
import { PACKS } from "../src/detectors/registry.ts";
import { missingTables } from "../src/detectors/pack_status.ts";
import { startAlertSink } from "../src/alerts/demo_sink.ts";
import { deliverDueAlerts } from "../src/alerts/outbox/sender.ts";
import { startChainDemo } from "../src/demo/chain_traffic.ts";
import { onShutdown } from "../src/dev/on_shutdown.ts";

const known = new Set(["--serve", "--verbose"]);
const unknown = Deno.args.filter((arg) => !known.has(arg));
if (unknown.length > 0) {
  console.error(`Cannot parse arguments: received '${unknown.join(" ")}' (use --serve, --verbose)`);
  Deno.exit(2);
}
const serve = Deno.args.includes("--serve");
if (!Deno.args.includes("--verbose") && !Deno.env.get("LOG_LEVEL")) {
  Deno.env.set("LOG_LEVEL", "warn");
}

const traffic = demoTraffic();
const started = performance.now();
// The chain pack needs an EVM node: a local one on loopback, with the escrow
// deployed, when it can start here. Its settings reach the functions through env.
const chainDemo = await startChainDemo().catch((error) => {
  console.log(
    `Chain checks skipped: no local EVM node (${error instanceof Error ? error.message : error})`,
  );
  return null;
});
if (chainDemo) {
  for (const [name, value] of Object.entries(chainDemo.env)) Deno.env.set(name, value);
  traffic.push(chainDemo.traffic);
}
// Every alert channel points at a local sink, so the demo shows what Slack,
// PagerDuty, the webhook and the mail API would have received (and never
// reaches a real one, even when those variables are set).
const sink = await startAlertSink();
for (const [name, value] of Object.entries(sink.env)) Deno.env.set(name, value);
console.log("Starting the monitoring service (embedded Postgres unless DATABASE_URL is set)...");
const server = await startDevServer({
  port: serve ? Number(Deno.env.get("PORT") ?? 54321) : 0,
  schedule: false,
  async prepare(sql) {
    // The demo writes synthetic traffic: never into a database that has a platform already.
    const tables = PACKS.filter((pack) => traffic.some((t) => t.pack === pack.id))
      .flatMap((pack) => pack.tables);
    const missing = await missingTables(sql, tables);
    const present = tables.filter((table) => !missing.includes(table));
    if (present.length > 0) {
      throw new Error(
        `Cannot run the demo here: ${present.join(", ")} already exist. ` +
          "It writes synthetic traffic, so point DATABASE_URL at an empty database (or unset it).",
      );
    }
    for (const pack of traffic) await pack.createTables(sql);
  },
}).catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  Deno.exit(1);
});
console.log(`Serving ${server.functionsUrl}; generating traffic and running cycles...`);
// The sink has no rate limit to respect.
await server.sql`
  update monitoring_config
  set value = jsonb_set(value, '{delivery}', coalesce(value -> 'delivery', '{}') ||
    '{"slack_min_interval_ms": 0, "pagerduty_min_interval_ms": 0}')
  where key = 'alerts'`;

let ok = false;
try {
  const outcome = await runDemoScenario({
    sql: server.sql,
    client: functionsClient(server.functionsUrl, server.serviceKey),
    traffic,
  });
  console.log(formatDemoReport(outcome));
  console.log(`\nAlerts the channels received (local sink ${sink.url}):`);
  for (const line of sink.describe()) console.log(`  ${line}`);
  if (sink.received.length === 0) console.log("  (none)");
  if (!serve) {
    // Fast-forward the alert clock: what waits for group_wait or group_interval (HIGH,
    // the MEDIUM digest, webhook and email) goes out, and unacknowledged CRITICALs escalate.
    const seen = sink.received.length;
    await deliverDueAlerts(server.sql, { now: () => new Date(Date.now() + 3600_000) });
    console.log("\nAnd an hour later, when the group timers have run and no one acknowledged:");
    for (const line of sink.describe().slice(seen)) console.log(`  ${line}`);
  }
  console.log(`\nDemo took ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  ok = demoSucceeded(outcome);
} catch (error) {
  console.error(`Demo failed: ${error instanceof Error ? error.message : error}`);
}

if (serve) {
  await server.startScheduler();
  console.log(
    `\nServing with the scheduler on. Try:\n` +
      `  curl -H "Authorization: Bearer ${server.serviceKey}" ${server.functionsUrl}/monitoring/status\n` +
      `  URL ${server.functionsUrl}   key ${server.serviceKey}   dashboard ${server.url}/dashboard/\n` +
      `Ctrl-C to stop.`,
  );
  onShutdown(async () => {
    await server.stop();
    await chainDemo?.stop();
    return ok ? 0 : 1;
  });
} else {
  await server.stop();
  await sink.close();
  await chainDemo?.stop();
  Deno.exit(ok ? 0 : 1);
}
