import { createAppContext } from "../../src/app/context.ts";
import { connect } from "../../src/db/client.ts";
import type { Sql } from "../../src/db/client.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createMonitoringApiHandler } from "../../src/functions/monitoring_api_handler.ts";
import { encodeCursor } from "../../src/api/cursor.ts";
import { listEvents } from "../../src/api/events.ts";
import type { EventsQuery } from "../../src/api/events.ts";
import { formatTable } from "../../src/demo/text_table.ts";
import type { BenchSection, TargetResult } from "./bench_section.ts";

const EVENTS = 1_000_000;
const EVENTS_P95_TARGET_MS = 30;
const HEALTH_RPS_TARGET = 2_000;
const HEALTH_P99_TARGET_MS = 25;
const SERVICE_KEY = "bench-service-role-key";
const SAMPLES = 300;

/** A million events over 90 days, with the mix of severities, statuses and packs detectors write. */
export async function seedEvents(sql: Sql, count: number): Promise<void> {
  await sql`
    insert into monitoring_events (event_type, severity, status, detection_algorithm, pack, title,
      card_id, fingerprint, context, occurred_at, detection_timestamp, resolved_at)
    select t.event_type, (array['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'])[1 + i % 4],
      case when i % 50 = 0 then 'OPEN' when i % 50 = 1 then 'ACKNOWLEDGED'
        when i % 10 = 2 then 'FALSE_POSITIVE' else 'RESOLVED' end,
      t.detector, t.pack, t.event_type || ' on card ' || (i % 20000), 'card-' || (i % 20000),
      'bench:' || i, jsonb_build_object('i', i, 'amount', i % 500),
      ts, ts, case when i % 50 > 1 then ts + interval '20 minutes' end
    from generate_series(1, ${count}) as i
    cross join lateral (select now() - (i * (90 * 86400.0 / ${count})) * interval '1 second' as ts) s
    cross join lateral (
      select (array['balance_discrepancy', 'consecutive_failures', 'success_rate_drop',
                    'high_risk_activity', 'duplicate_scan'])[1 + i % 5] as event_type,
             (array['balance_mismatch_detection', 'consecutive_failures', 'exchange_success_rate',
                    'high_risk_order_volume', 'duplicate_nfc_scans'])[1 + i % 5] as detector,
             (array['festival', 'festival', 'exchange', 'trades', 'festival'])[1 + i % 5] as pack
    ) t`;
  // Steady state, as autovacuum leaves a table: otherwise its first pass over the fresh
  // million rows competes with the measurements.
  await sql`vacuum (analyze) monitoring_events`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** p50/p95 of `samples` sequential calls (after a warm-up), in milliseconds. */
async function latencies(
  samples: number,
  call: () => Promise<unknown>,
): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 20; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** Runs autocannon in its own process (so it does not share the server's event loop). */
async function autocannon(url: string, headers: Record<string, string>): Promise<Load> {
  const args = ["run", "-A", "npm:autocannon@9.0.0", "-j", "-c", "16", "-d", "10"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}=${value}`);
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args, url],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!output.success) throw new Error(`autocannon failed on ${url}`);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * The dashboard API at a million events: p50/p95 of `/events` over HTTP for the
 * first page, a page half a million rows deep (by cursor) and a filtered page,
 * each against the same query run straight in SQL (the baseline: what HTTP,
 * validation and JSON add); then `/health` throughput with autocannon on
 * loopback against an unauthenticated request to the same server (the baseline:
 * what the HTTP stack alone can do here).
 */
export const apiSection: BenchSection = {
  name: "api",
  title: "monitoring-api: /events at 1 M events, /health under load",
  async run(context) {
    const db = await context.scratchDatabase("api");
    const sql = connect(db.url, { max: 4, applicationName: "monitoring-bench-api" });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      createMonitoringApiHandler(createAppContext({
        env: { SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY },
        sql,
        log: createLogger({ service: "bench" }),
      })),
    );
    const base = `http://127.0.0.1:${server.addr.port}/functions/v1/monitoring-api`;
    const auth = { authorization: `Bearer ${SERVICE_KEY}` };
    try {
      let started = performance.now();
      await seedEvents(sql, EVENTS);
      context.print(
        `  seeded ${EVENTS.toLocaleString("en")} events in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      const [deep] = await sql<{ micros: string; event_id: string }[]>`
        select (extract(epoch from detection_timestamp) * 1000000)::bigint::text as micros,
          event_id::text
        from monitoring_events order by detection_timestamp desc, event_id desc
        offset ${EVENTS / 2} limit 1`;
      const cursor = encodeCursor({ micros: BigInt(deep.micros), eventId: BigInt(deep.event_id) });
      // `targeted: false`: measured and printed, outside the issue's /events targets.
      const pages: { name: string; query: EventsQuery; params: string; targeted?: boolean }[] = [
        { name: "first page", query: { limit: 50 }, params: "limit=50" },
        {
          name: "page 500,000 rows deep (cursor)",
          query: { limit: 50, cursor },
          params: `limit=50&cursor=${cursor}`,
        },
        {
          name: "filtered: CRITICAL + OPEN + festival",
          query: { limit: 50, severity: "CRITICAL", status: "OPEN", pack: "festival" },
          params: "limit=50&severity=CRITICAL&status=OPEN&pack=festival",
        },
        {
          name: "filtered: detector + since 7 days",
          query: {
            limit: 50,
            detector: "exchange_success_rate",
            since: new Date(Date.now() - 7 * 86400_000).toISOString(),
          },
          params: `limit=50&detector=exchange_success_rate&since=${
            new Date(Date.now() - 7 * 86400_000).toISOString()
          }`,
        },
      ];
      pages.push({
        name: "title search: 'card 19999' (50 matches)",
        query: { limit: 50, q: "card 19999" },
        params: "limit=50&q=card%2019999",
        targeted: false,
      });
      const rows: string[][] = [];
      const targets: TargetResult[] = [];
      for (const page of pages) {
        const direct = await latencies(SAMPLES, () => listEvents(sql, page.query));
        const http = await latencies(SAMPLES, async () => {
          const response = await fetch(`${base}/events?${page.params}`, { headers: auth });
          if (response.status !== 200) throw new Error(`/events answered ${response.status}`);
          await response.arrayBuffer();
        });
        rows.push([
          page.name,
          ms(direct.p50),
          ms(direct.p95),
          ms(http.p50),
          ms(http.p95),
          `${(http.p50 / direct.p50).toFixed(1)}x`,
        ]);
        if (page.targeted === false) continue;
        targets.push({
          target: `/events ${page.name}: p95 <= ${EVENTS_P95_TARGET_MS} ms`,
          measured: ms(http.p95),
          pass: http.p95 <= EVENTS_P95_TARGET_MS,
        });
      }
      context.print("");
      context.print(formatTable(
        [
          { header: "/events (limit 50)" },
          { header: "SQL p50", align: "right" },
          { header: "SQL p95", align: "right" },
          { header: "HTTP p50", align: "right" },
          { header: "HTTP p95", align: "right" },
          { header: "HTTP/SQL", align: "right" },
        ],
        rows,
      ));

      started = performance.now();
      const baseline = await autocannon(`${base}/health`, {});
      const health = await autocannon(`${base}/health`, auth);
      context.print("");
      context.print(formatTable(
        [
          { header: "autocannon, 16 connections, 10 s" },
          { header: "req/s", align: "right" },
          { header: "p50", align: "right" },
          { header: "p99", align: "right" },
          { header: "non-2xx", align: "right" },
        ],
        [
          [
            "baseline: unauthenticated (401, no database)",
            Math.round(baseline.rps),
            ms(baseline.p50),
            ms(baseline.p99),
            baseline.non2xx,
          ],
          [
            "/health (database, tiers, breakers)",
            Math.round(health.rps),
            ms(health.p50),
            ms(health.p99),
            health.non2xx,
          ],
        ],
      ));
      context.print(
        `  /health reaches ${(100 * health.rps / baseline.rps).toFixed(0)} % of the baseline`,
      );
      targets.push(
        {
          target: `/health >= ${HEALTH_RPS_TARGET} req/s`,
          measured: `${Math.round(health.rps)} req/s`,
          pass: health.rps >= HEALTH_RPS_TARGET && health.non2xx === 0 && health.errors === 0,
        },
        {
          target: `/health p99 <= ${HEALTH_P99_TARGET_MS} ms`,
          measured: ms(health.p99),
          pass: health.p99 <= HEALTH_P99_TARGET_MS,
        },
      );
      return targets;
    } finally {
      await server.shutdown();
      await sql.end({ timeout: 2 });
      await db.drop();
    }
  },
};
