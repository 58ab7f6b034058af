import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { startReceiver } from "./_helpers/http_receiver.ts";
import type { Notification, OutboxAlert } from "../src/alerts/notify/notification.ts";
import { slackNotifier } from "../src/alerts/notify/slack.ts";
import { PAGERDUTY_SEVERITY, pagerDutyNotifier } from "../src/alerts/notify/pagerduty.ts";
import { webhookNotifier } from "../src/alerts/notify/webhook.ts";
import { emailNotifier } from "../src/alerts/notify/email.ts";
import { channelsFromEnv } from "../src/alerts/notify/channels.ts";
import { parseRetryAfter } from "../src/alerts/notify/http_send.ts";
import { dedupKeyOf } from "../src/alerts/dispatch/enqueue.ts";

const DASHBOARD = "http://127.0.0.1:54321/dashboard/";

function alert(
  id: number,
  overrides: Partial<OutboxAlert["event"]> = {},
  reason: OutboxAlert["reason"] = "new",
): OutboxAlert {
  return {
    alert_id: id,
    event_id: 100 + id,
    dedup_key: `monitoring:balance_mismatch_detection:card-${id}`,
    reason,
    actor: null,
    labels: { severity: "CRITICAL", pack: "festival", card_id: `card-${id}` },
    event: {
      event_id: 100 + id,
      title: `Card card-${id} holds 60.00 but its ledger says 50.00`,
      severity: "CRITICAL",
      status: "OPEN",
      pack: "festival",
      detector: "balance_mismatch_detection",
      event_type: "balance_discrepancy",
      fingerprint: `balance_mismatch_detection:card-${id}`,
      card_id: `card-${id}`,
      entity_type: null,
      entity_id: null,
      transaction_id: null,
      occurrence_count: 1,
      occurred_at: "2026-11-23T06:00:00.000Z",
      detection_timestamp: "2026-11-23T06:00:01.000Z",
      context: { expected_balance: 50, difference: 10 },
      resolution_notes: null,
      ...overrides,
    },
  };
}

function notification(
  action: Notification["action"],
  alerts: OutboxAlert[],
  channel: Notification["channel"],
): Notification {
  return {
    delivery_id: `msg_${channel}_1`,
    channel,
    action,
    group_key: "0.1|x|pack=festival",
    alerts,
    dashboard_url: DASHBOARD,
  };
}

const signal = () => AbortSignal.timeout(5000);

Deno.test("slackNotifier() posts blocks with severity, title, subject, count and dashboard links", async () => {
  const receiver = startReceiver({ status: 200, body: "ok" });
  try {
    const notifier = slackNotifier(`${receiver.url}/services/T0/B0/XYZ`);
    const result = await notifier.send(
      notification("trigger", [alert(1), alert(2, { occurrence_count: 3 })], "slack"),
      signal(),
    );
    assert.deepEqual(result, { ok: true, status: 200 });
    const [request] = receiver.requests;
    assert.equal(request.path, "/services/T0/B0/XYZ");
    assert.equal(request.headers["content-type"], "application/json");
    const body = request.json;
    assert.equal(body.text, ":red_circle: CRITICAL: 2 × balance_discrepancy");
    assert.deepEqual(body.blocks[0], {
      type: "header",
      text: {
        type: "plain_text",
        text: ":red_circle: CRITICAL: 2 × balance_discrepancy",
        emoji: true,
      },
    });
    assert.deepEqual(body.blocks[1].fields.map((field: { text: string }) => field.text), [
      "*Severity*\nCRITICAL",
      "*Count*\n2",
      "*Pack*\nfestival",
      "*Detector*\nbalance_mismatch_detection",
    ]);
    assert.deepEqual(body.blocks[2].text.text.split("\n"), [
      `• <${DASHBOARD}#/events/101|#101> Card card-1 holds 60.00 but its ledger says 50.00 — card \`card-1\``,
      `• <${DASHBOARD}#/events/102|#102> Card card-2 holds 60.00 but its ledger says 50.00 — card \`card-2\` (seen 3×)`,
    ]);
    assert.deepEqual(body.blocks[3], {
      type: "context",
      elements: [{ type: "mrkdwn", text: `<${DASHBOARD}|Open the monitoring dashboard>` }],
    });

    await notifier.send(
      notification("resolve", [alert(3, { status: "FALSE_POSITIVE" }, "false_positive")], "slack"),
      signal(),
    );
    assert.equal(
      receiver.requests[1].json.text,
      ":white_check_mark: False positive: balance_discrepancy",
    );
  } finally {
    await receiver.close();
  }
});

Deno.test("pagerDutyNotifier() speaks Events API v2: trigger with payload, acknowledge and resolve by dedup_key", async () => {
  const receiver = startReceiver({
    status: 202,
    body: '{"status":"success","message":"Event processed"}',
  });
  try {
    const notifier = pagerDutyNotifier("R0UTINGKEY", `${receiver.url}/v2/enqueue`);
    assert.deepEqual(
      await notifier.send(notification("trigger", [alert(1)], "pagerduty"), signal()),
      { ok: true, status: 202 },
    );
    await notifier.send(notification("acknowledge", [alert(1)], "pagerduty"), signal());
    await notifier.send(notification("resolve", [alert(1)], "pagerduty"), signal());
    const [trigger, acknowledge, resolve] = receiver.requests.map((request) => request.json);
    assert.equal(receiver.requests[0].path, "/v2/enqueue");
    assert.deepEqual(trigger, {
      routing_key: "R0UTINGKEY",
      event_action: "trigger",
      dedup_key: "monitoring:balance_mismatch_detection:card-1",
      payload: {
        summary: "[CRITICAL] Card card-1 holds 60.00 but its ledger says 50.00",
        source: "monitoring/festival",
        severity: "critical",
        timestamp: "2026-11-23T06:00:01.000Z",
        component: "balance_mismatch_detection",
        group: "festival",
        class: "balance_discrepancy",
        custom_details: {
          event_id: 101,
          status: "OPEN",
          reason: "new",
          occurrence_count: 1,
          occurred_at: "2026-11-23T06:00:00.000Z",
          card_id: "card-1",
          entity_type: null,
          entity_id: null,
          transaction_id: null,
          context: { expected_balance: 50, difference: 10 },
        },
      },
      links: [{ href: `${DASHBOARD}#/events/101`, text: "Event #101" }],
    });
    const key = {
      routing_key: "R0UTINGKEY",
      dedup_key: "monitoring:balance_mismatch_detection:card-1",
    };
    assert.deepEqual(acknowledge, { ...key, event_action: "acknowledge" });
    assert.deepEqual(resolve, { ...key, event_action: "resolve" });
    assert.deepEqual(PAGERDUTY_SEVERITY, {
      CRITICAL: "critical",
      HIGH: "error",
      MEDIUM: "warning",
      LOW: "info",
    });
  } finally {
    await receiver.close();
  }
});

Deno.test("dedupKeyOf() keeps PagerDuty's dedup_key within 255 characters", () => {
  assert.equal(dedupKeyOf("d:card-1"), "monitoring:d:card-1");
  const long = dedupKeyOf(`d:${"x".repeat(400)}`);
  assert.ok(long.length <= 255);
  assert.match(long, /^monitoring:sha256:[0-9a-f]{64}$/);
  assert.equal(long, dedupKeyOf(`d:${"x".repeat(400)}`));
});

function verifyStandardWebhook(
  secret: string,
  headers: Record<string, string>,
  body: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest();
  return headers["webhook-signature"].split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

Deno.test("webhookNotifier() signs per Standard Webhooks, verifiable with the decoded whsec_ secret", async () => {
  const receiver = startReceiver({ status: 204 });
  const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
  try {
    const notifier = webhookNotifier(`${receiver.url}/hook`, secret);
    const before = Math.floor(Date.now() / 1000);
    assert.deepEqual(
      await notifier.send(notification("trigger", [alert(1), alert(2)], "webhook"), signal()),
      { ok: true, status: 204 },
    );
    const [request] = receiver.requests;
    assert.equal(request.headers["webhook-id"], "msg_webhook_1");
    const timestamp = Number(request.headers["webhook-timestamp"]);
    assert.ok(timestamp >= before && timestamp <= before + 5);
    assert.match(request.headers["webhook-signature"], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.ok(verifyStandardWebhook(secret, request.headers, request.text), "signature verifies");
    assert.ok(
      !verifyStandardWebhook(secret, request.headers, request.text.replace("card-1", "card-9")),
      "tampered body fails",
    );
    const body = request.json;
    assert.equal(body.type, "alert.triggered");
    assert.equal(body.data.delivery_id, "msg_webhook_1");
    assert.equal(body.data.count, 2);
    assert.equal(body.data.severity, "CRITICAL");
    assert.deepEqual(Object.keys(body.data.alerts[0]).sort(), [
      "actor",
      "context",
      "dedup_key",
      "detection_timestamp",
      "event_id",
      "labels",
      "occurred_at",
      "occurrence_count",
      "reason",
      "resolution_notes",
      "severity",
      "status",
      "title",
      "url",
    ]);
    assert.equal(body.data.alerts[1].dedup_key, "monitoring:balance_mismatch_detection:card-2");

    // A secret without the prefix is used as its bytes.
    const plain = webhookNotifier(`${receiver.url}/hook`, "plain-secret");
    await plain.send(notification("resolve", [alert(1)], "webhook"), signal());
    const second = receiver.requests[1];
    const mac = createHmac("sha256", "plain-secret")
      .update(
        `${second.headers["webhook-id"]}.${second.headers["webhook-timestamp"]}.${second.text}`,
      )
      .digest("base64");
    assert.equal(second.headers["webhook-signature"], `v1,${mac}`);
    assert.equal(second.json.type, "alert.resolved");
  } finally {
    await receiver.close();
  }
});

Deno.test("emailNotifier() sends one message per group through the mail API with its key and an idempotency key", async () => {
  const receiver = startReceiver({ status: 200, body: '{"id":"m1"}' });
  try {
    const notifier = emailNotifier({
      url: `${receiver.url}/emails`,
      apiKey: "re_key",
      to: ["a@x.io", "b@x.io"],
      from: "mon@x.io",
    });
    await notifier.send(notification("trigger", [alert(1), alert(2)], "email"), signal());
    const [request] = receiver.requests;
    assert.equal(request.headers.authorization, "Bearer re_key");
    assert.equal(request.headers["idempotency-key"], "msg_email_1");
    assert.equal(request.json.from, "mon@x.io");
    assert.deepEqual(request.json.to, ["a@x.io", "b@x.io"]);
    assert.equal(request.json.subject, "[CRITICAL] 2 × balance_discrepancy");
    assert.match(request.json.text, /#101 \[CRITICAL\] Card card-1 holds 60.00/);
    assert.match(
      request.json.html,
      /<a href="http:\/\/127.0.0.1:54321\/dashboard\/#\/events\/102">#102<\/a>/,
    );
  } finally {
    await receiver.close();
  }
});

Deno.test("notifiers classify answers: 400 permanent, 429 with Retry-After and 5xx retryable, a stall times out", async () => {
  const receiver = startReceiver({ status: 202 });
  try {
    const notifier = pagerDutyNotifier("K", `${receiver.url}/v2/enqueue`);
    receiver.script(
      { status: 400, body: '{"status":"invalid event","errors":["dedup_key too long"]}' },
      { status: 429, headers: { "retry-after": "12" } },
      { status: 502 },
      { status: 202, stallMs: 2000 },
    );
    const send = (timeout = 5000) =>
      notifier.send(notification("trigger", [alert(1)], "pagerduty"), AbortSignal.timeout(timeout));
    const permanent = await send();
    assert.equal(permanent.ok, false);
    assert.ok(!permanent.ok && !permanent.retryable && permanent.status === 400);
    assert.match(!permanent.ok ? permanent.error : "", /HTTP 400: .*invalid event/);
    assert.deepEqual(await send(), {
      ok: false,
      retryable: true,
      status: 429,
      retryAfterMs: 12_000,
      error: "HTTP 429",
    });
    assert.deepEqual(await send(), { ok: false, retryable: true, status: 502, error: "HTTP 502" });
    const stalled = await send(100);
    assert.ok(!stalled.ok && stalled.retryable && stalled.status === undefined);
    assert.equal(
      parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")),
      30_000,
    );
    assert.equal(parseRetryAfter("soon"), undefined);
  } finally {
    await receiver.close();
  }
});

Deno.test("channelsFromEnv() enables a channel only when all its variables are set", () => {
  const table: [Record<string, string>, string, string][] = [
    [{}, "slack", "disabled: SLACK_WEBHOOK_URL unset"],
    [{ SLACK_WEBHOOK_URL: "  " }, "slack", "disabled: SLACK_WEBHOOK_URL unset"],
    [{ SLACK_WEBHOOK_URL: "http://127.0.0.1:1/x" }, "slack", "enabled"],
    [{ PAGERDUTY_ROUTING_KEY: "k" }, "pagerduty", "enabled"],
    [
      { PAGERDUTY_ROUTING_KEY: "k", PAGERDUTY_EVENTS_URL: "nope" },
      "pagerduty",
      "disabled: PAGERDUTY_EVENTS_URL is invalid",
    ],
    [
      { ALERT_WEBHOOK_URL: "http://127.0.0.1:1/x" },
      "webhook",
      "disabled: ALERT_WEBHOOK_SECRET unset",
    ],
    [
      { ALERT_WEBHOOK_URL: "http://127.0.0.1:1/x", ALERT_WEBHOOK_SECRET: "whsec_" },
      "webhook",
      "disabled: Cannot use ALERT_WEBHOOK_SECRET",
    ],
    [
      { EMAIL_API_URL: "http://127.0.0.1:1/x", EMAIL_API_KEY: "k" },
      "email",
      "disabled: EMAIL_TO unset",
    ],
  ];
  for (const [env, channel, expected] of table) {
    const set = channelsFromEnv(env);
    const status = set.enabled.has(channel as never)
      ? "enabled"
      : set.disabled.get(channel as never)!;
    assert.ok(status.startsWith(expected), `${JSON.stringify(env)}: ${status}`);
  }
});
