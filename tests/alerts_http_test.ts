import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { startReceiver } from "./_helpers/http_receiver.ts";
import { announce, insertEvent, outbox } from "./_helpers/alert_events.ts";
import { createAppContext } from "../src/app/context.ts";
import { createMonitoringHandler } from "../src/functions/monitoring_handler.ts";

Deno.test("the monitoring function shows channels in /status and lets cron run the sender on its own", async () => {
  const db = await createTestDatabase();
  const pagerduty = startReceiver({ status: 202, body: '{"status":"success"}' });
  try {
    const env = {
      SUPABASE_SERVICE_ROLE_KEY: "service-key",
      MONITORING_CRON_SECRET: "cron-secret",
      PAGERDUTY_ROUTING_KEY: "R0UTINGKEY",
      PAGERDUTY_EVENTS_URL: `${pagerduty.url}/v2/enqueue`,
    };
    const app = createAppContext({ env, sql: db.sql });
    const fetch = createMonitoringHandler(app);
    const call = (method: string, path: string, headers: Record<string, string>) =>
      fetch(new Request(`http://localhost/monitoring${path}`, { method, headers }));

    const event = await insertEvent(db.sql, { severity: "CRITICAL", detector: "d", card_id: "Z" });
    await announce(db.sql, [{ kind: "opened", event }], { env, now: new Date() });

    const status = await call("GET", "/status", { authorization: "Bearer service-key" });
    assert.equal(status.status, 200);
    const { channels } = await status.json();
    assert.equal(channels.pagerduty.status, "enabled");
    assert.equal(channels.pagerduty.pending, 1);
    assert.equal(channels.slack.status, "disabled: SLACK_WEBHOOK_URL unset");
    assert.equal(channels.slack.enabled, false);

    const delivered = await call("POST", "/alerts/deliver", {
      "x-monitoring-cron-secret": "cron-secret",
    });
    assert.equal(delivered.status, 200);
    assert.equal((await delivered.json()).sent, 1);
    assert.equal(pagerduty.requests.length, 1);
    assert.deepEqual((await outbox(db.sql)).map((row) => row.status), ["sent"]);

    const refused = await call("POST", "/alerts/deliver", {});
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  } finally {
    await pagerduty.close();
    await db.drop();
  }
});
