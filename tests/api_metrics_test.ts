import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";
import { cycle } from "./_helpers/app.ts";
import { MetricsWriter } from "../src/api/metrics_writer.ts";

/** promtool from PATH, or installed from Debian's `prometheus` package when we are root. */
async function findPromtool(): Promise<{ path?: string; reason?: string }> {
  const which = async () => {
    const out = await new Deno.Command("sh", {
      args: ["-c", "command -v promtool"],
      stdout: "piped",
    })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  const found = await which();
  if (found) return { path: found };
  if (Deno.uid?.() !== 0) return { reason: "promtool not on PATH and not root to apt-get it" };
  const install = await new Deno.Command("sh", {
    args: ["-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const installed = await which();
  return installed ? { path: installed } : {
    reason: `apt-get install prometheus failed: ${
      new TextDecoder().decode(install.stderr).slice(-300)
    }`,
  };
}

async function promtoolCheck(path: string, text: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command(path, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test("MetricsWriter writes the text exposition format", () => {
  const text = new MetricsWriter()
    .gauge("demo_open", "Open things.\nSecond line \\ slash.", [
      { labels: { name: 'say "hi"\\\n' }, value: 2 },
      { value: NaN },
    ])
    .counter("demo_failures_total", "Failures.", [{ labels: { a: "b" }, value: 3 }])
    .histogram("demo_seconds", "Durations.", [0.1, 1], [
      { labels: { tier: "critical" }, buckets: [1, 3], sum: 1.5, count: 4 },
    ])
    .text();
  assert.equal(
    text,
    [
      "# HELP demo_open Open things.\\nSecond line \\\\ slash.",
      "# TYPE demo_open gauge",
      'demo_open{name="say \\"hi\\"\\\\\\n"} 2',
      "demo_open NaN",
      "# HELP demo_failures_total Failures.",
      "# TYPE demo_failures_total counter",
      'demo_failures_total{a="b"} 3',
      "# HELP demo_seconds Durations.",
      "# TYPE demo_seconds histogram",
      'demo_seconds_bucket{tier="critical",le="0.1"} 1',
      'demo_seconds_bucket{tier="critical",le="1"} 3',
      'demo_seconds_bucket{tier="critical",le="+Inf"} 4',
      'demo_seconds_sum{tier="critical"} 1.5',
      'demo_seconds_count{tier="critical"} 4',
      "",
    ].join("\n"),
  );
});

Deno.test("MetricsWriter refuses names Prometheus would reject", () => {
  const cases: [string, (w: MetricsWriter) => unknown, RegExp][] = [
    ["bad metric name", (w) => w.gauge("1bad", "x", []), /received name '1bad'/],
    ["bad label name", (w) => w.gauge("ok", "x", [{ labels: { "a-b": "1" }, value: 1 }]), /'a-b'/],
    ["counter without _total", (w) => w.counter("hits", "x", []), /needs _total/],
    ["twice", (w) => w.gauge("ok", "x", []).gauge("ok", "x", []), /twice/],
    [
      "bucket count",
      (w) => w.histogram("h", "x", [1], [{ labels: {}, buckets: [], sum: 0, count: 0 }]),
      /0 buckets for 1/,
    ],
  ];
  for (const [name, write, message] of cases) {
    assert.throws(() => write(new MetricsWriter()), message, name);
  }
});

Deno.test("GET /metrics exposes open events, durations, failures, breakers, tiers and deliveries", async () => {
  const db = await createTestDatabase();
  await using api = startApiServer(db.sql);
  try {
    await insertEvents(db.sql, 3, { severity: "CRITICAL", pack: "festival" });
    await insertEvents(db.sql, 2, { severity: "MEDIUM", pack: "exchange", status: "RESOLVED" });
    await cycle(db.sql, {});
    await db.sql`
      insert into monitoring_detector_runs (cycle_id, tier, detector_id, pack, status, duration_ms, error)
      values (gen_random_uuid(), 'critical', 'balance_mismatch_detection', 'festival', 'failed', 12, 'boom')`;
    await db.sql`
      insert into monitoring_circuit_breakers (name, state, failures) values ('detector:x', 'open', 5)`;
    await db.sql`
      insert into alert_history (event_id, channel, status, dedup_key)
      values (null, 'slack', 'sent', 'a'), (null, 'slack', 'failed', 'b'), (null, 'pagerduty', 'sent', 'c')`;

    const response = await api.call("/metrics");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const expectLines = [
      'monitoring_open_events{severity="CRITICAL",pack="festival"} 3',
      'monitoring_detector_failures_total{detector="balance_mismatch_detection"} 1',
      'monitoring_circuit_breaker_state{breaker="detector:x",state="open"} 1',
      'monitoring_circuit_breaker_state{breaker="detector:x",state="closed"} 0',
      'monitoring_alert_deliveries{channel="slack",status="failed"} 1',
      'monitoring_alert_deliveries{channel="pagerduty",status="sent"} 1',
    ];
    for (const line of expectLines) {
      assert.ok(text.includes(`${line}\n`), `missing: ${line}\n${text}`);
    }
    assert.doesNotMatch(text, /severity="MEDIUM",pack="exchange"/, "resolved events are not open");
    for (const tier of ["critical", "medium", "health", "maintenance"]) {
      assert.match(
        text,
        new RegExp(`monitoring_last_cycle_timestamp_seconds\\{tier="${tier}"\\} \\d`),
      );
      assert.match(
        text,
        new RegExp(`monitoring_cycle_duration_seconds_bucket\\{tier="${tier}",le="\\+Inf"\\} 1\\n`),
      );
    }
    assert.match(
      text,
      /monitoring_detector_duration_seconds_count\{detector="[a-z_]+",pack="[a-z]+"\} \d+/,
    );

    const promtool = await findPromtool();
    if (!promtool.path) {
      console.warn(`\n!!! SKIPPING the promtool assertion only: ${promtool.reason}\n`);
      return;
    }
    const check = await promtoolCheck(promtool.path, text);
    assert.ok(check.ok, `promtool check metrics failed:\n${check.output}\n${text}`);
    assert.equal(check.output.trim(), "", `promtool lint findings:\n${check.output}`);
  } finally {
    await api.stop();
    await db.drop();
  }
});
