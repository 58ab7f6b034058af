import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";
import type { StatusChange } from "../src/api/event_status.ts";
import { transitionError } from "../src/api/event_status.ts";
import type { EventStatus } from "../src/events/event_schema.ts";

type Page = { events: { event_id: number; [key: string]: unknown }[]; next_cursor: string | null };

Deno.test("monitoring-api events: list, filter, page, detail and status changes", async (t) => {
  const db = await createTestDatabase();
  const changes: { change: StatusChange; seenInTx: string }[] = [];
  await using api = startApiServer(db.sql, {
    extensions: {
      onStatusChange: async (tx, change) => {
        const [row] = await tx<{ status: string }[]>`
          select status from monitoring_events where event_id = ${change.event.event_id}`;
        changes.push({ change, seenInTx: row.status });
      },
    },
  });
  try {
    const base = new Date("2026-11-20T12:00:00Z");
    await insertEvents(db.sql, 30, {
      newest: base,
      severity: "HIGH",
      detector: "consecutive_failures",
    });
    await insertEvents(db.sql, 5, {
      newest: new Date(base.getTime() - 3_600_000),
      severity: "CRITICAL",
      detector: "balance_mismatch_detection",
      title: "Balance 100% off_by_one",
      cardId: "card-7",
    });
    await insertEvents(db.sql, 4, {
      newest: new Date(base.getTime() - 7_200_000),
      severity: "MEDIUM",
      pack: "exchange",
      detector: "gas_cost_spike",
      status: "RESOLVED",
    });

    await t.step("GET /events returns newest first with a default page of 50", async () => {
      const page = await api.json<Page>("/events");
      assert.equal(page.events.length, 39);
      assert.equal(page.next_cursor, null);
      const times = page.events.map((e) => Date.parse(e.detection_timestamp as string));
      assert.deepEqual(times, [...times].sort((a, b) => b - a));
    });

    await t.step("GET /events filters in SQL, each filter alone and combined", async () => {
      const cases: [string, number][] = [
        ["severity=CRITICAL", 5],
        ["status=RESOLVED", 4],
        ["pack=exchange", 4],
        ["detector=consecutive_failures", 30],
        ["event_type=test_event", 39],
        ["card_id=card-7", 5],
        ["q=100%25%20off_by", 5], // % and _ match literally
        ["q=100x", 0],
        ["q=balance", 5], // case-insensitive
        [`since=${new Date(base.getTime() - 3_600_000).toISOString()}`, 31],
        [`until=${new Date(base.getTime() - 3_600_000).toISOString()}`, 8],
        ["severity=HIGH&status=OPEN&pack=festival", 30],
        ["severity=LOW", 0],
      ];
      for (const [query, expected] of cases) {
        const page = await api.json<Page>(`/events?${query}&limit=200`);
        assert.equal(page.events.length, expected, query);
      }
    });

    await t.step("GET /events pages by cursor without repeating or skipping", async () => {
      const seen: number[] = [];
      let cursor: string | null = "";
      while (cursor !== null) {
        const page: Page = await api.json<Page>(
          `/events?limit=7${cursor ? `&cursor=${cursor}` : ""}`,
        );
        seen.push(...page.events.map((e) => e.event_id));
        cursor = page.next_cursor;
      }
      assert.equal(seen.length, 39);
      assert.equal(new Set(seen).size, 39);
    });

    await t.step("GET /events stays stable while events are inserted between pages", async () => {
      // Same detection_timestamp for many rows: the event_id tie-breaker must hold.
      const tied = new Date("2026-11-19T00:00:00Z");
      await db.sql`
        insert into monitoring_events (event_type, severity, detection_algorithm, pack, title,
          fingerprint, detection_timestamp)
        select 'tie', 'LOW', 'tie_detector', 'core', 'tie ' || i, 'tie:' || i, ${tied}
        from generate_series(1, 12) as i`;
      const before = await db.sql<{ event_id: number }[]>`
        select event_id from monitoring_events order by detection_timestamp desc, event_id desc`;
      const seen: number[] = [];
      let cursor: string | null = "";
      let round = 0;
      while (cursor !== null) {
        const page: Page = await api.json<Page>(
          `/events?limit=5${cursor ? `&cursor=${cursor}` : ""}`,
        );
        seen.push(...page.events.map((e) => e.event_id));
        cursor = page.next_cursor;
        // Newer events arrive while the client pages (as detectors keep writing).
        await insertEvents(db.sql, 2, { newest: new Date(Date.now() + ++round * 60_000) });
      }
      const firstPageStart = before.findIndex((row) => row.event_id === seen[0]);
      const expected = before.slice(firstPageStart).map((row) => row.event_id);
      assert.deepEqual(seen.filter((id) => expected.includes(id)), expected);
      assert.equal(new Set(seen).size, seen.length, "no event repeated");
    });

    await t.step("GET /events answers 400 naming the bad parameter", async () => {
      const cases: [string, string][] = [
        ["limit=0", "limit"],
        ["limit=201", "limit"],
        ["limit=ten", "limit"],
        ["severity=SEVERE", "severity"],
        ["status=closed", "status"],
        ["pack=bank", "pack"],
        ["since=yesterday", "since"],
        ["cursor=not-a-cursor", "cursor"],
        ["colour=red", "colour"],
      ];
      for (const [query, field] of cases) {
        const body = await api.json<{ error: { field: string; message: string } }>(
          `/events?${query}`,
          400,
        );
        assert.equal(body.error.field, field, query);
        assert.match(body.error.message, new RegExp(`'${field}'`));
      }
    });

    await t.step(
      "GET /events/:id gives the event with its alert history; 400 and 404",
      async () => {
        const [id] = await insertEvents(db.sql, 1, { title: "With alerts" });
        await db.sql`
        insert into alert_history (event_id, channel, status, dedup_key, payload)
        values (${id}, 'slack', 'sent', ${`dedup-${id}`}, '{"text": "hi"}')`;
        const detail = await api.json<
          { event: { event_id: number; title: string }; alert_history: { channel: string }[] }
        >(`/events/${id}`);
        assert.equal(detail.event.event_id, id);
        assert.equal(detail.event.title, "With alerts #0");
        assert.deepEqual(detail.alert_history.map((a) => a.channel), ["slack"]);
        const bad = await api.json<{ error: { field: string } }>("/events/abc", 400);
        assert.equal(bad.error.field, "id");
        await api.json("/events/-1", 400);
        const missing = await api.json<{ error: { code: string } }>("/events/999999999", 404);
        assert.equal(missing.error.code, "not_found");
      },
    );

    await t.step("GET /events caps large context", async () => {
      const [id] = await insertEvents(db.sql, 1, { title: "Huge" });
      await db.sql`
        update monitoring_events set context = jsonb_build_object('blob', repeat('x', 100000))
        where event_id = ${id}`;
      const page = await api.json<Page>(`/events?q=Huge`);
      assert.equal((page.events[0].context as { _truncated: boolean })._truncated, true);
    });

    await t.step("PATCH /events/:id follows OPEN -> ACKNOWLEDGED -> RESOLVED", async () => {
      const [id] = await insertEvents(db.sql, 1, { title: "Patch me" });
      const ack = await api.json<{ event: { status: string; resolved_at: string | null } }>(
        `/events/${id}`,
        200,
        { method: "PATCH", body: JSON.stringify({ status: "ACKNOWLEDGED" }) },
      );
      assert.equal(ack.event.status, "ACKNOWLEDGED");
      assert.equal(ack.event.resolved_at, null);
      const resolved = await api.json<{ event: { status: string; resolved_at: string | null } }>(
        `/events/${id}`,
        200,
        {
          method: "PATCH",
          body: JSON.stringify({ status: "RESOLVED", resolution_notes: "refunded card" }),
        },
      );
      assert.equal(resolved.event.status, "RESOLVED");
      assert.ok(resolved.event.resolved_at);
      const [row] = await db.sql<{ status: string; resolution_notes: string; resolved: boolean }[]>`
        select status, resolution_notes, resolved_at is not null as resolved
        from monitoring_events where event_id = ${id}`;
      assert.deepEqual(row, {
        status: "RESOLVED",
        resolution_notes: "refunded card",
        resolved: true,
      });
      const log = await db.sql<{ from_status: string; to_status: string; actor: string }[]>`
        select from_status, to_status, actor from monitoring_event_status_changes
        where event_id = ${id} order by change_id`;
      assert.deepEqual(log.map((r) => [r.from_status, r.to_status, r.actor]), [
        ["OPEN", "ACKNOWLEDGED", "service_role"],
        ["ACKNOWLEDGED", "RESOLVED", "service_role"],
      ]);
      const hooked = changes.filter((c) => c.change.event.event_id === id);
      assert.deepEqual(
        hooked.map((c) => [c.change.previousStatus, c.change.event.status, c.seenInTx]),
        [["OPEN", "ACKNOWLEDGED", "ACKNOWLEDGED"], ["ACKNOWLEDGED", "RESOLVED", "RESOLVED"]],
      );
      const detail = await api.json<{ status_changes: unknown[] }>(`/events/${id}`);
      assert.equal(detail.status_changes.length, 2);
    });

    await t.step("PATCH /events/:id refuses illegal transitions with 409 saying why", async () => {
      const cases: [EventStatus, EventStatus][] = [
        ["RESOLVED", "ACKNOWLEDGED"],
        ["FALSE_POSITIVE", "RESOLVED"],
        ["ACKNOWLEDGED", "OPEN"],
        ["OPEN", "OPEN"],
      ];
      for (const [from, to] of cases) {
        const [id] = await insertEvents(db.sql, 1, { status: from });
        const body = await api.json<{ error: { code: string; message: string } }>(
          `/events/${id}`,
          409,
          { method: "PATCH", body: JSON.stringify({ status: to }) },
        );
        assert.equal(body.error.code, "illegal_transition");
        assert.equal(body.error.message, transitionError(from, to));
        assert.match(body.error.message, new RegExp(`${from}`));
      }
      const [open] = await insertEvents(db.sql, 1);
      const fp = await api.json<{ event: { status: string; resolved_at: string } }>(
        `/events/${open}`,
        200,
        { method: "PATCH", body: JSON.stringify({ status: "FALSE_POSITIVE" }) },
      );
      assert.equal(fp.event.status, "FALSE_POSITIVE");
      assert.ok(fp.event.resolved_at);
    });

    await t.step("PATCH /events/:id validates the body and the id", async () => {
      const [id] = await insertEvents(db.sql, 1);
      const cases: [string, string, number][] = [
        [`/events/${id}`, JSON.stringify({ status: "DONE" }), 400],
        [`/events/${id}`, JSON.stringify({}), 400],
        [`/events/${id}`, JSON.stringify({ status: "RESOLVED", extra: 1 }), 400],
        [`/events/${id}`, "{not json", 400],
        ["/events/x1", JSON.stringify({ status: "RESOLVED" }), 400],
        ["/events/99999999", JSON.stringify({ status: "RESOLVED" }), 404],
      ];
      for (const [path, body, status] of cases) {
        await api.json(path, status, { method: "PATCH", body });
      }
      const [row] = await db.sql`select status from monitoring_events where event_id = ${id}`;
      assert.equal(row.status, "OPEN");
    });

    await t.step("a failing status hook rolls the change back", async () => {
      await using failing = startApiServer(db.sql, {
        extensions: {
          onStatusChange: () => Promise.reject(new Error("outbox unavailable")),
        },
      });
      const [id] = await insertEvents(db.sql, 1);
      await failing.json(`/events/${id}`, 500, {
        method: "PATCH",
        body: JSON.stringify({ status: "ACKNOWLEDGED" }),
      });
      const [row] = await db.sql`select status from monitoring_events where event_id = ${id}`;
      assert.equal(row.status, "OPEN");
    });

    await t.step("every route needs credentials", async () => {
      for (const path of ["/events", "/events/1", "/stats", "/metrics", "/snapshots"]) {
        const response = await api.call(path, { headers: { authorization: "Bearer wrong" } });
        assert.equal(response.status, 401, path);
        await response.body?.cancel();
      }
    });
  } finally {
    await api.stop();
    await db.drop();
  }
});
