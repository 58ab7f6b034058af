import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import type { TestDatabase } from "./_helpers/database.ts";
import { cycle, setup } from "./_helpers/app.ts";
import { createPlatformTables } from "./fixtures/platform_tables.ts";
import { insertTransactions, setCards } from "./_helpers/festival_data.ts";
import { startReceiver } from "./_helpers/http_receiver.ts";
import type { Receiver } from "./_helpers/http_receiver.ts";
import {
  announce,
  insertEvent,
  manualClock,
  outbox,
  repeatEvent,
  resolveEvent,
  setAlertsConfig,
} from "./_helpers/alert_events.ts";
import { createAlertHooks } from "../src/alerts/alert_hooks.ts";
import { deliverDueAlerts } from "../src/alerts/outbox/sender.ts";
import { enqueueStatusChange } from "../src/alerts/dispatch/status_change.ts";
import { createSilence, expireSilence, listSilences } from "../src/alerts/silence/silences.ts";
import { channelStatusSection } from "../src/alerts/channel_status.ts";
import type { MonitoringEvent } from "../src/events/event_schema.ts";

const FAST = {
  delivery: { slack_min_interval_ms: 0, pagerduty_min_interval_ms: 0, send_timeout_ms: 2000 },
};

/** A database, receivers for Slack and PagerDuty, and the env pointing at them. */
async function world(channels: ("slack" | "pagerduty" | "webhook")[] = ["slack"]) {
  const db = await createTestDatabase();
  await setAlertsConfig(db.sql, FAST);
  const slack = startReceiver({ status: 200, body: "ok" });
  const pagerduty = startReceiver({ status: 202, body: '{"status":"success"}' });
  const webhook = startReceiver({ status: 204 });
  const env: Record<string, string> = {};
  if (channels.includes("slack")) env.SLACK_WEBHOOK_URL = `${slack.url}/services/T/B/X`;
  if (channels.includes("pagerduty")) {
    env.PAGERDUTY_ROUTING_KEY = "R0UTINGKEY";
    env.PAGERDUTY_EVENTS_URL = `${pagerduty.url}/v2/enqueue`;
  }
  if (channels.includes("webhook")) {
    env.ALERT_WEBHOOK_URL = `${webhook.url}/hook`;
    env.ALERT_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  }
  const clock = manualClock();
  return {
    db,
    env,
    clock,
    slack,
    pagerduty,
    webhook,
    deliver: () => deliverDueAlerts(db.sql, { env, now: clock.now }),
    async close() {
      await Promise.all([slack.close(), pagerduty.close(), webhook.close()]);
      await db.drop();
    },
  };
}

const slackLines = (receiver: Receiver, index: number): string[] =>
  receiver.requests[index].json.blocks[2].text.text.split("\n");

Deno.test("a cycle that finds ten balance discrepancies sends one Slack message listing them and a PagerDuty trigger for each", async () => {
  const w = await world(["slack", "pagerduty"]);
  try {
    await createPlatformTables(w.db.sql, ["festival"]);
    await setup(w.db.sql);
    const cards = Array.from({ length: 10 }, (_, i) => `CARD-${i}`);
    await insertTransactions(w.db.sql, cards.map((card) => ({ card, amount: 50 })));
    await setCards(w.db.sql, Object.fromEntries(cards.map((card) => [card, 60])));
    const hooks = createAlertHooks({ sql: () => w.db.sql, env: w.env, now: w.clock.now });
    const summary = await cycle(w.db.sql, {
      tier: "critical",
      detectors: ["balance_mismatch_detection"],
    }, { hooks });

    assert.equal(summary.totals.new_events, 10);
    assert.equal((summary.hooks.alerts as { sent: number }).sent, 20);
    assert.equal(w.slack.requests.length, 1);
    const lines = slackLines(w.slack, 0);
    assert.equal(lines.length, 10);
    for (const card of cards) assert.ok(lines.some((line) => line.includes(`\`${card}\``)), card);
    assert.match(w.slack.requests[0].json.text, /CRITICAL: 10 × balance_discrepancy/);
    assert.equal(w.pagerduty.requests.length, 10);
    const keys = new Set(w.pagerduty.requests.map((request) => request.json.dedup_key));
    assert.equal(keys.size, 10);
    assert.ok(w.pagerduty.requests.every((request) => request.json.event_action === "trigger"));

    // The same discrepancies found again within repeat_interval notify nobody.
    await cycle(w.db.sql, { tier: "critical", detectors: ["balance_mismatch_detection"] }, {
      hooks,
    });
    assert.equal(w.slack.requests.length, 1);
    assert.equal(w.pagerduty.requests.length, 10);
    assert.ok((await outbox(w.db.sql)).every((row) => row.status === "sent"));
  } finally {
    await w.close();
  }
});

Deno.test("grouping waits group_wait, batches later alerts by group_interval, and repeats only after repeat_interval", async () => {
  const w = await world(["slack"]);
  try {
    const { db, env, clock } = w;
    const a = await insertEvent(db.sql, { severity: "HIGH", detector: "d1", card_id: "A" });
    await announce(db.sql, [{ kind: "opened", event: a }], { env, now: clock.now() });
    clock.advance(29);
    assert.equal((await w.deliver()).sent, 0, "group_wait (30 s) has not passed");
    clock.advance(1);
    assert.equal((await w.deliver()).sent, 1);
    assert.equal(w.slack.requests.length, 1);

    // A second alert of the same group waits for group_interval (5 min) after the last flush.
    clock.advance(30);
    const b = await insertEvent(db.sql, { severity: "HIGH", detector: "d1", card_id: "B" });
    await announce(db.sql, [{ kind: "opened", event: b }], { env, now: clock.now() });
    // Another group (another detector) starts its own timer.
    const c = await insertEvent(db.sql, { severity: "HIGH", detector: "d2", card_id: "C" });
    await announce(db.sql, [{ kind: "opened", event: c }], { env, now: clock.now() });
    clock.advance(30);
    assert.equal((await w.deliver()).sent, 1, "d2's group_wait has passed, d1 waits");
    assert.match(slackLines(w.slack, 1)[0], /`C`/);
    clock.advance(240 - 1);
    assert.equal((await w.deliver()).sent, 0);
    clock.advance(1);
    assert.equal((await w.deliver()).sent, 1);
    assert.match(slackLines(w.slack, 2)[0], /`B`/);

    // A repeated finding inside repeat_interval (4 h) is deduplicated.
    clock.advance(3600);
    const a2 = await repeatEvent(db.sql, a);
    assert.equal(
      await announce(db.sql, [{ kind: "repeated", event: a2 }], { env, now: clock.now() }),
      0,
    );
    clock.advance(4 * 3600);
    const a3 = await repeatEvent(db.sql, a2);
    assert.equal(
      await announce(db.sql, [{ kind: "repeated", event: a3 }], { env, now: clock.now() }),
      1,
    );
    clock.advance(30);
    assert.equal((await w.deliver()).sent, 1);
    assert.match(slackLines(w.slack, 3)[0], /`A` \(seen 3×\)/);
    assert.equal(w.slack.requests.length, 4);
  } finally {
    await w.close();
  }
});

Deno.test("an open CRITICAL inhibits lower-severity alerts about the same card, and is recorded as what muted them", async () => {
  const w = await world(["slack"]);
  try {
    const { db, env, clock } = w;
    const critical = await insertEvent(db.sql, {
      severity: "CRITICAL",
      detector: "d_crit",
      card_id: "X",
    });
    const highX = await insertEvent(db.sql, { severity: "HIGH", detector: "d_high", card_id: "X" });
    const highY = await insertEvent(db.sql, { severity: "HIGH", detector: "d_high", card_id: "Y" });
    const mediumEntity = await insertEvent(db.sql, {
      severity: "MEDIUM",
      detector: "d_med",
      entity_type: "endpoint",
      entity_id: "/pay",
    });
    await insertEvent(db.sql, {
      severity: "CRITICAL",
      detector: "d_crit2",
      entity_type: "endpoint",
      entity_id: "/pay",
    });
    await announce(
      db.sql,
      [highX, highY, mediumEntity].map((event) => ({ kind: "opened", event })),
      {
        env,
        now: clock.now(),
      },
    );
    clock.advance(3600);
    const summary = await w.deliver();
    assert.equal(summary.suppressed, 2);
    assert.equal(summary.sent, 1);
    const rows = await outbox(db.sql);
    const byEvent = new Map(rows.map((row) => [row.event_id, row]));
    assert.equal(byEvent.get(highY.event_id)!.status, "sent");
    assert.equal(byEvent.get(highX.event_id)!.status, "suppressed");
    assert.equal(byEvent.get(highX.event_id)!.muted_by!.kind, "inhibition");
    assert.equal(byEvent.get(highX.event_id)!.muted_by!.event_id, critical.event_id);
    assert.equal(byEvent.get(mediumEntity.event_id)!.status, "suppressed");
    assert.equal(w.slack.requests.length, 1);
    assert.match(slackLines(w.slack, 0)[0], /`Y`/);

    // Once the CRITICAL is resolved it mutes nothing.
    await resolveEvent(db.sql, critical);
    const again = await insertEvent(db.sql, {
      severity: "HIGH",
      detector: "d_high2",
      card_id: "X",
    });
    await announce(db.sql, [{ kind: "opened", event: again }], { env, now: clock.now() });
    clock.advance(30);
    assert.equal((await w.deliver()).sent, 1);
  } finally {
    await w.close();
  }
});

Deno.test("a silence mutes matching alerts while it lasts, records itself, and stops muting when it ends", async () => {
  const w = await world(["slack"]);
  try {
    const { db, env, clock } = w;
    const silence = await createSilence(db.sql, {
      matchers: ["detector=noisy", "severity=~HIGH|MEDIUM"],
      ends_at: new Date(clock.now().getTime() + 3600_000),
      created_by: "ana@ops",
      comment: "reader R7 is being replaced",
    }, clock.now());
    const noisy = await insertEvent(db.sql, { severity: "HIGH", detector: "noisy", card_id: "N" });
    const other = await insertEvent(db.sql, { severity: "HIGH", detector: "quiet", card_id: "Q" });
    await announce(db.sql, [noisy, other].map((event) => ({ kind: "opened", event })), {
      env,
      now: clock.now(),
    });
    clock.advance(30);
    const first = await w.deliver();
    assert.equal(first.sent, 1);
    assert.equal(first.suppressed, 1);
    const muted = (await outbox(db.sql)).find((row) => row.event_id === noisy.event_id)!;
    assert.equal(muted.status, "suppressed");
    assert.deepEqual(
      { ...muted.muted_by, ends_at: undefined },
      {
        kind: "silence",
        silence_id: silence.silence_id,
        created_by: "ana@ops",
        comment: "reader R7 is being replaced",
        ends_at: undefined,
      },
    );

    // Still silenced 10 minutes later.
    clock.advance(600);
    let event = await repeatEvent(db.sql, noisy);
    await announce(db.sql, [{ kind: "repeated", event }], { env, now: clock.now() });
    clock.advance(300);
    assert.equal((await w.deliver()).suppressed, 1);
    assert.equal(w.slack.requests.length, 1);

    // After ends_at nothing needs to be done: the next repeat notifies.
    clock.advance(3600);
    assert.deepEqual((await listSilences(db.sql, { now: clock.now() })).map((s) => s.state), [
      "expired",
    ]);
    event = await repeatEvent(db.sql, event);
    await announce(db.sql, [{ kind: "repeated", event }], { env, now: clock.now() });
    clock.advance(30);
    assert.equal((await w.deliver()).sent, 1);
    assert.equal(w.slack.requests.length, 2);
    assert.match(slackLines(w.slack, 1)[0], /`N`/);

    // Expiring a silence by hand ends it at once.
    const manual = await createSilence(db.sql, {
      matchers: ["pack=festival"],
      ends_at: new Date(clock.now().getTime() + 86_400_000),
      created_by: "ana@ops",
      comment: "maintenance",
    }, clock.now());
    assert.equal((await listSilences(db.sql, { state: "active", now: clock.now() })).length, 1);
    assert.ok(await expireSilence(db.sql, manual.silence_id, clock.now()));
    assert.equal((await listSilences(db.sql, { state: "active", now: clock.now() })).length, 0);
    assert.equal(await expireSilence(db.sql, manual.silence_id, clock.now()), null);
  } finally {
    await w.close();
  }
});

async function setStatus(
  w: Awaited<ReturnType<typeof world>>,
  event: MonitoringEvent,
  status: MonitoringEvent["status"],
  actor: string,
) {
  return await w.db.sql.begin(async (tx) => {
    const [updated] = await tx<MonitoringEvent[]>`
      update monitoring_events set status = ${status}, updated_at = now()
      where event_id = ${event.event_id} returning *`;
    return await enqueueStatusChange(tx, updated, event.status, actor, {
      env: w.env,
      now: w.clock.now(),
    });
  });
}

Deno.test("an unacknowledged CRITICAL escalates every N minutes until acknowledged; PagerDuty gets acknowledge then resolve on the same dedup_key", async () => {
  const w = await world(["slack", "pagerduty"]);
  try {
    const { db, env, clock } = w;
    const event = await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: "K" });
    await announce(db.sql, [{ kind: "opened", event }], { env, now: clock.now() });
    await w.deliver();
    assert.equal(w.pagerduty.requests.length, 1);
    const dedupKey = w.pagerduty.requests[0].json.dedup_key;
    assert.equal(dedupKey, `monitoring:${event.fingerprint}`);

    clock.advance(14 * 60);
    assert.equal((await w.deliver()).escalated, 0);
    clock.advance(60);
    const escalated = await w.deliver();
    assert.equal(escalated.escalated, 2, "PagerDuty and Slack");
    assert.equal(w.pagerduty.requests.length, 2);
    assert.equal(w.pagerduty.requests[1].json.dedup_key, dedupKey);
    assert.equal(w.pagerduty.requests[1].json.payload.custom_details.reason, "escalation");
    assert.match(w.slack.requests[1].json.text, /unacknowledged/);
    clock.advance(5 * 60);
    assert.equal((await w.deliver()).escalated, 0, "the next escalation is 15 min after the last");

    assert.equal(await setStatus(w, event, "ACKNOWLEDGED", "ana@ops"), 1, "PagerDuty only");
    await w.deliver();
    assert.deepEqual(w.pagerduty.requests[2].json, {
      routing_key: "R0UTINGKEY",
      event_action: "acknowledge",
      dedup_key: dedupKey,
    });
    clock.advance(3600);
    const quiet = await w.deliver();
    assert.equal(quiet.escalated, 0, "acknowledged events do not escalate");
    assert.equal(w.slack.requests.length, 2);

    const acknowledged = { ...event, status: "ACKNOWLEDGED" as const };
    assert.equal(await setStatus(w, acknowledged, "FALSE_POSITIVE", "ana@ops"), 2);
    await w.deliver();
    assert.deepEqual(w.pagerduty.requests[3].json, {
      routing_key: "R0UTINGKEY",
      event_action: "resolve",
      dedup_key: dedupKey,
    });
    assert.match(w.slack.requests[2].json.text, /False positive/);
    assert.match(slackLines(w.slack, 2)[0], /marked a false positive by ana@ops/);
  } finally {
    await w.close();
  }
});

Deno.test("a resolved event sends resolve notices only to channels that were sent its trigger", async () => {
  const w = await world(["slack", "pagerduty"]);
  try {
    const { db, env, clock } = w;
    // Silenced on Slack only: PagerDuty is told, Slack never is.
    await createSilence(db.sql, {
      matchers: ["card_id=S"],
      ends_at: new Date(clock.now().getTime() + 86_400_000),
      created_by: "ana@ops",
      comment: "test card",
    }, clock.now());
    const event = await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: "S" });
    await announce(db.sql, [{ kind: "opened", event }], { env, now: clock.now() });
    await w.deliver();
    assert.equal(w.pagerduty.requests.length, 0, "the silence covers every channel");
    const resolved = await resolveEvent(db.sql, event);
    assert.equal(
      await announce(db.sql, [{ kind: "resolved", event: resolved }], { env, now: clock.now() }),
      0,
    );

    // An event resolved before its trigger went out: trigger first, then resolve.
    const quick = await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: "Q" });
    await announce(db.sql, [{ kind: "opened", event: quick }], { env, now: clock.now() });
    const quickResolved = await resolveEvent(db.sql, quick);
    assert.equal(
      await announce(db.sql, [{ kind: "resolved", event: quickResolved }], {
        env,
        now: clock.now(),
      }),
      2,
    );
    clock.advance(600);
    await w.deliver();
    assert.deepEqual(w.pagerduty.requests.map((request) => request.json.event_action), [
      "trigger",
      "resolve",
    ]);
    assert.match(w.slack.requests[1].json.text, /Resolved/);
    assert.ok(
      (await outbox(db.sql)).filter((row) => row.event_id === quick.event_id)
        .every((row) => row.status === "sent"),
    );
  } finally {
    await w.close();
  }
});

Deno.test("channelStatusSection() shows each channel enabled or why not, with pending, failed and breaker", async () => {
  const db: TestDatabase = await createTestDatabase();
  try {
    const env = { PAGERDUTY_ROUTING_KEY: "key", EMAIL_API_URL: "not a url", EMAIL_API_KEY: "k" };
    const [name, section] = await channelStatusSection(env)(db.sql) as [
      string,
      Record<
        string,
        { status: string; enabled: boolean; pending: number; breaker: { state: string } }
      >,
    ];
    assert.equal(name, "channels");
    assert.equal(section.slack.status, "disabled: SLACK_WEBHOOK_URL unset");
    assert.equal(section.pagerduty.status, "enabled");
    assert.equal(section.webhook.status, "disabled: ALERT_WEBHOOK_URL, ALERT_WEBHOOK_SECRET unset");
    assert.match(section.email.status, /^disabled: EMAIL_API_URL is invalid/);
    assert.equal(section.pagerduty.pending, 0);
    assert.equal(section.pagerduty.breaker.state, "closed");
  } finally {
    await db.drop();
  }
});

Deno.test("a resolve held back for its trigger goes out later under a webhook-id of its own", async () => {
  const w = await world(["webhook"]);
  try {
    const { db, env, clock } = w;
    const first = await insertEvent(db.sql, { severity: "HIGH", detector: "d", card_id: "E1" });
    await announce(db.sql, [{ kind: "opened", event: first }], { env, now: clock.now() });
    clock.advance(30);
    assert.equal((await w.deliver()).sent, 1);
    clock.advance(30);
    const second = await insertEvent(db.sql, { severity: "HIGH", detector: "d", card_id: "E2" });
    await announce(db.sql, [{ kind: "opened", event: second }], { env, now: clock.now() });
    // Resolved before the group's next flush; the second event's resolve is written first.
    for (const event of [second, first]) {
      await announce(db.sql, [{ kind: "resolved", event: await resolveEvent(db.sql, event) }], {
        env,
        now: clock.now(),
      });
    }
    // At the flush the second trigger fails, so its resolve must wait for it.
    w.webhook.script({ status: 503 });
    clock.advance(300);
    const flush = await w.deliver();
    assert.equal(flush.released, 1);
    assert.equal(w.webhook.requests.at(-1)!.json.type, "alert.resolved");
    assert.deepEqual(
      w.webhook.requests.at(-1)!.json.data.alerts.map((a: { event_id: number }) => a.event_id),
      [first.event_id],
    );
    clock.advance(3600);
    await w.deliver();
    clock.advance(3600);
    await w.deliver();
    const types = w.webhook.requests.map((request) => request.json.type);
    assert.deepEqual(types, [
      "alert.triggered",
      "alert.triggered",
      "alert.resolved",
      "alert.triggered",
      "alert.resolved",
    ]);
    const accepted = w.webhook.requests.filter((request) => request.answer.status < 300);
    const ids = accepted.map((request) => request.headers["webhook-id"]);
    assert.equal(new Set(ids).size, ids.length, `distinct webhook-ids: ${ids.join(" ")}`);
    assert.ok((await outbox(db.sql)).every((row) => row.status === "sent"));
  } finally {
    await w.close();
  }
});
