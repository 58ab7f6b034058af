import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";
import { cycle } from "./_helpers/app.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, Content> }>>;
  components: { schemas: Record<string, unknown> };
};
type Content = { content: Record<string, { schema: Record<string, unknown> }> };

Deno.test("GET /openapi.json describes real responses of every JSON operation", async () => {
  const db = await createTestDatabase();
  await using api = startApiServer(db.sql);
  try {
    const [id] = await insertEvents(db.sql, 3, { severity: "CRITICAL" });
    await db
      .sql`insert into alert_history (event_id, channel, status, dedup_key) values (${id}, 'slack', 'sent', 'k')`;
    await cycle(db.sql, {}); // a health snapshot and detector runs

    const doc = await api.json<Doc>("/openapi.json");
    assert.equal(doc.openapi, "3.1.0");
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: "openapi", components: doc.components });
    const validate = (path: string, method: string, status: string, body: unknown) => {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} is documented`);
      const schema = op.responses[status]?.content["application/json"]?.schema;
      assert.ok(schema, `${method} ${path} ${status} has a JSON schema`);
      const resolved = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'),
      );
      const ok = ajv.validate(resolved, body);
      assert.ok(ok, `${method} ${path} ${status}: ${ajv.errorsText()}\n${JSON.stringify(body)}`);
    };

    const calls: [string, string, string, number, RequestInit?][] = [
      ["/events", "/events?limit=2", "get", 200],
      ["/events", "/events?severity=nope", "get", 400],
      ["/events/{id}", `/events/${id}`, "get", 200],
      ["/events/{id}", "/events/424242", "get", 404],
      ["/events/{id}", `/events/${id}`, "patch", 200, {
        method: "PATCH",
        body: JSON.stringify({ status: "RESOLVED", resolution_notes: "fixed" }),
      }],
      ["/events/{id}", `/events/${id}`, "patch", 409, {
        method: "PATCH",
        body: JSON.stringify({ status: "ACKNOWLEDGED" }),
      }],
      ["/snapshots", "/snapshots?limit=5", "get", 200],
      ["/stats", "/stats?window=1h", "get", 200],
      ["/stats", "/stats?window=2h", "get", 400],
      ["/alerts", "/alerts", "get", 200],
      ["/silences", "/silences", "post", 201, {
        method: "POST",
        body: JSON.stringify({
          matchers: ["pack=festival"],
          ends_at: new Date(Date.now() + 60_000).toISOString(),
          comment: "maintenance",
        }),
      }],
      ["/silences", "/silences", "post", 400, { method: "POST", body: "{}" }],
      ["/silences", "/silences?state=active", "get", 200],
      ["/silences/{id}", "/silences/1", "delete", 200, { method: "DELETE" }],
      ["/silences/{id}", "/silences/1", "delete", 404, { method: "DELETE" }],
    ];
    for (const [path, url, method, status, init] of calls) {
      const body = await api.json(url, status, init);
      validate(path, method, String(status), body);
    }
    const snapshots = await api.json<{ snapshots: unknown[] }>("/snapshots");
    assert.equal(snapshots.snapshots.length, 1);
    const metrics = doc.paths["/metrics"].get.responses["200"].content;
    assert.ok(metrics["text/plain; version=0.0.4"]);
  } finally {
    await api.stop();
    await db.drop();
  }
});

Deno.test("GET /stats computes the dashboard figures in SQL and omits packs without tables", async () => {
  const db = await createTestDatabase();
  await using api = startApiServer(db.sql);
  try {
    const bare = await api.json<Record<string, unknown>>("/stats");
    assert.deepEqual(Object.keys(bare).sort(), ["events", "since", "window"]);

    await createPlatformTables(db.sql, ["festival", "exchange", "trades"]);
    await db.sql`
      insert into app_transaction_log (transaction_id, card_id, transaction_type, status, amount_involved, "timestamp")
      select gen_random_uuid(), 'c1', 'bar_order', s, 10, now() - interval '10 minutes'
      from unnest(array['completed', 'completed', 'completed', 'failed']) as s`;
    await db.sql`
      insert into auto_exchange_requests (status, created_at)
      select s, now() - interval '5 minutes'
      from unnest(array['completed', 'completed', 'completed', 'failed', 'fallback', 'pending']) as s`;
    await db.sql`
      insert into trades_orders (status, risk_score, value_usd, created_at)
      values ('filled', 20, 100, now()), ('filled', 90, 50, now()), ('open', 40, 10, now()),
             ('cancelled', 10, 5, now() - interval '2 days')`;
    await db.sql`
      insert into trades_fills (status, created_at) values ('completed', now()), ('failed', now())`;

    const [a, b] = await insertEvents(db.sql, 2, { severity: "CRITICAL", detector: "d1" });
    const [c] = await insertEvents(db.sql, 1, { severity: "HIGH", detector: "d1" });
    // Detected 10 minutes ago; acknowledged and closed now.
    await db.sql`
      update monitoring_events set detection_timestamp = now() - interval '10 minutes'
      where event_id in (${a}, ${b}, ${c})`;
    for (
      const [id, status] of [[a, "ACKNOWLEDGED"], [a, "RESOLVED"], [c, "FALSE_POSITIVE"]] as const
    ) {
      await api.json(`/events/${id}`, 200, { method: "PATCH", body: JSON.stringify({ status }) });
    }

    type Stats = {
      events: {
        by_severity: Record<string, number>;
        open_critical: number;
        false_positive_rate: unknown[];
        mean_time_to_acknowledge_seconds: number;
        mean_time_to_resolve_seconds: number;
      };
      festival: Record<string, number>;
      exchange: Record<string, number>;
      trades: Record<string, number>;
    };
    const stats = await api.json<Stats>("/stats?window=24h");
    assert.deepEqual(stats.events.by_severity, { CRITICAL: 2, HIGH: 1 });
    assert.equal(stats.events.open_critical, 1);
    assert.deepEqual(stats.events.false_positive_rate, [
      { detector: "d1", closed: 2, false_positives: 1, rate_percent: 50 },
    ]);
    assert.ok(Math.abs(stats.events.mean_time_to_acknowledge_seconds - 600) < 30);
    assert.ok(Math.abs(stats.events.mean_time_to_resolve_seconds - 600) < 30);
    assert.deepEqual(stats.festival, {
      transactions: 4,
      completed: 3,
      failed: 1,
      success_rate_percent: 75,
      volume: 30,
    });
    assert.deepEqual(stats.exchange, {
      requests: 6,
      completed: 3,
      failed: 1,
      fallback: 1,
      success_rate_percent: 60,
      fallback_rate_percent: 16.67,
    });
    assert.deepEqual(stats.trades, {
      orders: 3,
      filled: 2,
      fill_rate_percent: 66.67,
      average_risk_score: 50,
      max_risk_score: 90,
      volume_usd: 150,
      fills: 2,
      failed_fills: 1,
    });
  } finally {
    await api.stop();
    await db.drop();
  }
});
