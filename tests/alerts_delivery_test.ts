import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { startReceiver } from "./_helpers/http_receiver.ts";
import {
  announce,
  insertEvent,
  manualClock,
  outbox,
  setAlertsConfig,
} from "./_helpers/alert_events.ts";
import { connect } from "../src/db/client.ts";
import { deliverDueAlerts } from "../src/alerts/outbox/sender.ts";
import type { DeliverOptions } from "../src/alerts/outbox/sender.ts";
import { channelStatusSection } from "../src/alerts/channel_status.ts";
import { backoffMs } from "../src/alerts/outbox/backoff.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async function setupWorld(delivery: Record<string, unknown> = {}) {
  const db = await createTestDatabase();
  await setAlertsConfig(db.sql, {
    delivery: {
      slack_min_interval_ms: 0,
      pagerduty_min_interval_ms: 0,
      send_timeout_ms: 300,
      backoff_base_seconds: 10,
      ...delivery,
    },
  });
  const webhook = startReceiver({ status: 204 });
  const pagerduty = startReceiver({ status: 202, body: '{"status":"success"}' });
  const env = {
    ALERT_WEBHOOK_URL: `${webhook.url}/hook`,
    ALERT_WEBHOOK_SECRET: SECRET,
    PAGERDUTY_ROUTING_KEY: "R0UTINGKEY",
    PAGERDUTY_EVENTS_URL: `${pagerduty.url}/v2/enqueue`,
  };
  const clock = manualClock();
  return {
    db,
    env,
    clock,
    webhook,
    pagerduty,
    deliver: (options: DeliverOptions = {}) =>
      deliverDueAlerts(db.sql, { env, now: clock.now, random: () => 0.5, ...options }),
    async close() {
      await Promise.all([webhook.close(), pagerduty.close()]);
      await db.drop();
    },
  };
}

Deno.test("receivers that answer 500, then 429 with Retry-After, then stall past the timeout get every alert exactly once when they recover", async () => {
  const w = await setupWorld();
  try {
    const { db, env, clock } = w;
    // HIGH goes to the webhook (and nowhere else configured): three alerts, one group.
    const events = [];
    for (const card of ["A", "B", "C"]) {
      events.push(await insertEvent(db.sql, { severity: "HIGH", detector: "d", card_id: card }));
    }
    await announce(db.sql, events.map((event) => ({ kind: "opened", event })), {
      env,
      now: clock.now(),
    });
    w.webhook.script(
      { status: 500, body: "boom" },
      { status: 429, headers: { "retry-after": "7" } },
      { status: 200, stallMs: 5_000 },
    );
    clock.advance(30);

    let summary = await w.deliver();
    assert.equal(summary.retrying, 3);
    let rows = await outbox(db.sql);
    assert.ok(rows.every((row) => row.last_status_code === 500 && row.attempts === 1));
    // Backoff: 10 s base, equal jitter at random()=0.5 -> 7.5 s.
    assert.equal(rows[0].next_attempt_at.getTime() - clock.now().getTime(), 7_500);

    clock.advance(7.5);
    summary = await w.deliver();
    rows = await outbox(db.sql);
    assert.equal(rows[0].last_status_code, 429);
    assert.equal(rows[0].next_attempt_at.getTime() - clock.now().getTime(), 7_000, "Retry-After");

    clock.advance(7);
    summary = await w.deliver();
    rows = await outbox(db.sql);
    assert.match(rows[0].last_error!, /timed out after 300 ms/);
    assert.equal(rows[0].status, "pending");

    clock.advance(3600);
    summary = await w.deliver();
    assert.equal(summary.sent, 3);
    clock.advance(3600);
    assert.equal((await w.deliver()).claimed, 0);

    rows = await outbox(db.sql);
    assert.ok(rows.every((row) => row.status === "sent" && row.attempts === 4));
    assert.equal(w.webhook.requests.length, 4);
    const ids = new Set(w.webhook.requests.map((request) => request.headers["webhook-id"]));
    assert.equal(ids.size, 1, "every attempt carries the same webhook-id");
    const accepted = w.webhook.requests.filter((request) =>
      request.answer.status < 300 && !request.answer.stallMs
    );
    assert.equal(accepted.length, 1);
    assert.deepEqual(
      accepted[0].json.data.alerts.map((alert: { event_id: number }) => alert.event_id).sort(),
      events.map((event) => event.event_id).sort(),
    );
  } finally {
    await w.close();
  }
});

Deno.test("a sender killed between send and commit leaves the rows to be retried with the same idempotency keys", async () => {
  const w = await setupWorld({ lease_seconds: 60 });
  try {
    const { db, env, clock } = w;
    const event = await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: "K" });
    await announce(db.sql, [{ kind: "opened", event }], { env, now: clock.now() });
    clock.advance(30); // the webhook's group_wait; PagerDuty waits for nothing
    await assert.rejects(
      w.deliver({
        afterSend: () => {
          throw new Error("killed");
        },
      }),
      /killed/,
    );
    const claimed = await outbox(db.sql);
    assert.ok(
      claimed.every((row) => row.status === "pending" && row.attempts === 1 && row.delivery_id),
    );

    // Within the lease no sender takes them again.
    clock.advance(59);
    assert.equal((await w.deliver()).claimed, 0);
    clock.advance(1);
    const summary = await w.deliver();
    assert.equal(summary.sent, 2);

    assert.equal(w.pagerduty.requests.length, 2, "sent, killed, sent again");
    assert.equal(w.pagerduty.requests[0].json.dedup_key, w.pagerduty.requests[1].json.dedup_key);
    let rows = await outbox(db.sql);
    assert.deepEqual(rows.map((row) => row.delivery_id), claimed.map((row) => row.delivery_id));
    assert.ok(rows.every((row) => row.status === "sent" && row.attempts === 2));

    // The same for a grouped webhook delivery: the retry carries the same webhook-id.
    const high = await insertEvent(db.sql, { severity: "HIGH", detector: "h", card_id: "H" });
    await announce(db.sql, [{ kind: "opened", event: high }], { env, now: clock.now() });
    clock.advance(30);
    const before = w.webhook.requests.length;
    await assert.rejects(w.deliver({ afterSend: () => Promise.reject(new Error("killed")) }));
    clock.advance(60);
    assert.equal((await w.deliver()).sent, 1);
    const [first, second] = w.webhook.requests.slice(before);
    assert.ok(first && second);
    assert.equal(first.headers["webhook-id"], second.headers["webhook-id"]);
    assert.deepEqual(first.json.data, second.json.data, "the same message, re-signed");
    rows = await outbox(db.sql);
    assert.equal(rows.at(-1)!.delivery_id, first.headers["webhook-id"]);
  } finally {
    await w.close();
  }
});

Deno.test("two senders running at once never send one row twice", async () => {
  const w = await setupWorld({ batch_size: 3 });
  const first = connect(w.db.url, { max: 1 });
  const second = connect(w.db.url, { max: 1 });
  try {
    const { db, env, clock } = w;
    // Receivers take a little time, as real ones do, so both senders are mid-run together.
    w.pagerduty.otherwise = { status: 202, stallMs: 20 };
    w.webhook.otherwise = { status: 204, stallMs: 20 };
    const events = [];
    for (let i = 0; i < 24; i++) {
      events.push(
        await insertEvent(db.sql, {
          severity: "CRITICAL",
          detector: `d${i % 6}`,
          card_id: `C${i}`,
        }),
      );
    }
    await announce(db.sql, events.map((event) => ({ kind: "opened", event })), {
      env,
      now: clock.now(),
    });
    clock.advance(30);
    const options = { env, now: clock.now };
    const [a, b] = await Promise.all([
      deliverDueAlerts(first, options),
      deliverDueAlerts(second, options),
    ]);
    assert.equal(a.sent + b.sent, 24 + 24, "24 PagerDuty rows and 24 webhook rows");
    assert.ok(a.sent > 0 && b.sent > 0, `both senders worked: ${a.sent} + ${b.sent}`);
    assert.equal(w.pagerduty.requests.length, 24);
    assert.equal(new Set(w.pagerduty.requests.map((request) => request.json.dedup_key)).size, 24);
    const delivered = w.webhook.requests.flatMap((request) =>
      request.json.data.alerts.map((alert: { event_id: number }) => alert.event_id)
    );
    assert.equal(delivered.length, 24);
    assert.equal(new Set(delivered).size, 24);
    assert.equal(
      new Set(w.webhook.requests.map((request) => request.headers["webhook-id"])).size,
      w.webhook.requests.length,
    );
  } finally {
    await Promise.all([first.end(), second.end()]);
    await w.close();
  }
});

Deno.test("a permanent 4xx fails at once; repeated failures open the channel's breaker, shown in /status", async () => {
  const w = await setupWorld();
  try {
    const { db, env, clock } = w;
    await db.sql`
      insert into monitoring_config (key, value) values ('breaker', '{"failure_threshold": 2}')`;
    w.pagerduty.script({ status: 400, body: '{"status":"invalid event"}' });
    w.pagerduty.otherwise = { status: 503 };
    w.webhook.otherwise = { status: 204 };
    const events = [];
    for (const card of ["P", "Q", "R"]) {
      events.push(
        await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: card }),
      );
    }
    await announce(db.sql, events.map((event) => ({ kind: "opened", event })), {
      env,
      now: clock.now(),
    });
    const summary = await w.deliver();
    const pd = (await outbox(db.sql)).filter((row) => row.channel === "pagerduty");
    assert.equal(pd[0].status, "failed");
    assert.equal(pd[0].last_status_code, 400);
    assert.equal(pd[0].attempts, 1);
    assert.equal(pd[1].status, "pending", "503 is retried");
    assert.equal(summary.failed, 1);
    assert.equal(w.pagerduty.requests.length, 2, "the breaker opened after the second failure");
    assert.deepEqual(summary.channels_skipped, [{
      channel: "pagerduty",
      reason: "breaker opened",
    }]);
    assert.equal(pd[2].attempts, 0, "a row released by the open breaker spent no attempt");

    clock.advance(3600);
    const next = await w.deliver();
    assert.deepEqual(next.channels_skipped, [{ channel: "pagerduty", reason: "breaker open" }]);
    const [, section] = await channelStatusSection(env)(db.sql) as [
      string,
      Record<
        string,
        {
          pending: number;
          failed: number;
          breaker: { state: string };
          last_success_at: Date | null;
        }
      >,
    ];
    assert.equal(section.pagerduty.breaker.state, "open");
    assert.equal(section.pagerduty.failed, 1);
    assert.equal(section.pagerduty.pending, 2);
    assert.equal(section.webhook.breaker.state, "closed");
    assert.ok(section.webhook.last_success_at);
  } finally {
    await w.close();
  }
});

Deno.test("Slack and PagerDuty sends are spaced by their *_min_interval_ms", async (t) => {
  for (
    const [channel, env, setting] of [
      ["slack", "SLACK_WEBHOOK_URL", "slack_min_interval_ms"],
      ["pagerduty", "PAGERDUTY_EVENTS_URL", "pagerduty_min_interval_ms"],
    ] as const
  ) {
    await t.step(channel, async () => {
      const db = await createTestDatabase();
      const receiver = channel === "slack"
        ? startReceiver({ status: 200, body: "ok" })
        : startReceiver({ status: 202, body: '{"status":"success"}' });
      try {
        await setAlertsConfig(db.sql, {
          delivery: { slack_min_interval_ms: 0, pagerduty_min_interval_ms: 0, [setting]: 300 },
        });
        const vars: Record<string, string> = { [env]: `${receiver.url}/hook` };
        if (channel === "pagerduty") vars.PAGERDUTY_ROUTING_KEY = "R0UTINGKEY";
        const clock = manualClock();
        const events = [];
        for (let i = 0; i < 3; i++) {
          events.push(
            await insertEvent(db.sql, {
              severity: "CRITICAL",
              detector: `d${i}`,
              card_id: `S${i}`,
            }),
          );
        }
        await announce(db.sql, events.map((event) => ({ kind: "opened", event })), {
          env: vars,
          now: clock.now(),
        });
        clock.advance(30);
        assert.equal((await deliverDueAlerts(db.sql, { env: vars, now: clock.now })).sent, 3);
        const times = receiver.requests.map((request) => request.at.getTime());
        assert.equal(times.length, 3);
        for (let i = 1; i < times.length; i++) {
          assert.ok(times[i] - times[i - 1] >= 250, `gap ${times[i] - times[i - 1]} ms`);
        }
      } finally {
        await receiver.close();
        await db.drop();
      }
    });
  }
});

Deno.test("backoffMs() doubles per attempt up to the cap with equal jitter", () => {
  const table: [number, number, number][] = [
    [1, 0, 5_000],
    [1, 1, 10_000],
    [2, 0.5, 15_000],
    [4, 1, 80_000],
    [20, 1, 3_600_000],
    [20, 0, 1_800_000],
  ];
  for (const [attempt, random, expected] of table) {
    assert.equal(
      backoffMs(attempt, 10_000, 3_600_000, () => random),
      expected,
      `${attempt}/${random}`,
    );
  }
});
