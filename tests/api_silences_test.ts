import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";

const JWT_SECRET = "silences-test-secret-of-at-least-32-chars";

function adminToken(email: string): Promise<string> {
  return new SignJWT({
    sub: "admin-1",
    aud: "authenticated",
    email,
    app_metadata: { role: "admin" },
  })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(JWT_SECRET));
}

type SilenceBody = { silence: { silence_id: number; created_by: string; matchers: string[] } };

Deno.test("monitoring-api silences: create, list by state, expire", async (t) => {
  const db = await createTestDatabase();
  await using api = startApiServer(db.sql, { env: { SUPABASE_JWT_SECRET: JWT_SECRET } });
  try {
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    let id = 0;

    await t.step("POST /silences creates one, attributed to the caller", async () => {
      const created = await api.json<SilenceBody>("/silences", 201, {
        method: "POST",
        body: JSON.stringify({
          matchers: ["pack=festival", "severity=~HIGH|MEDIUM"],
          ends_at: inAnHour,
          comment: "terminal firmware rollout",
          created_by: "ana",
        }),
      });
      id = created.silence.silence_id;
      assert.equal(created.silence.created_by, "ana");
      assert.deepEqual(created.silence.matchers, ["pack=festival", "severity=~HIGH|MEDIUM"]);

      const byAdmin = await api.json<SilenceBody>("/silences", 201, {
        method: "POST",
        headers: { authorization: `Bearer ${await adminToken("ops@example.com")}` },
        body: JSON.stringify({
          matchers: ["detector=gas_cost_spike"],
          ends_at: inAnHour,
          comment: "known spike",
          created_by: "someone-else",
        }),
      });
      assert.equal(byAdmin.silence.created_by, "ops@example.com");
    });

    await t.step("POST /silences answers 400 naming the field", async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ matchers: [], ends_at: inAnHour, comment: "x" }, "matchers"],
        [{ matchers: ["pack=~("], ends_at: inAnHour, comment: "x" }, "matchers.0"],
        [{ matchers: ["pack=festival"], ends_at: "2000-01-01T00:00:00Z", comment: "x" }, "ends_at"],
        [{ matchers: ["pack=festival"], ends_at: inAnHour }, "comment"],
        [{ matchers: ["pack=festival"], ends_at: inAnHour, comment: "x", colour: 1 }, "colour"],
      ];
      for (const [body, field] of cases) {
        const answer = await api.json<{ error: { field: string } }>("/silences", 400, {
          method: "POST",
          body: JSON.stringify(body),
        });
        assert.equal(answer.error.field, field, JSON.stringify(body));
      }
    });

    await t.step("GET /silences lists by state; DELETE ends one", async () => {
      const active = await api.json<{ silences: { silence_id: number }[] }>(
        "/silences?state=active",
      );
      assert.equal(active.silences.length, 2);
      await api.json(`/silences/${id}`, 200, { method: "DELETE" });
      const after = await api.json<{ silences: { silence_id: number; state: string }[] }>(
        "/silences",
      );
      assert.equal(after.silences.find((s) => s.silence_id === id)?.state, "expired");
      await api.json(`/silences/${id}`, 404, { method: "DELETE" });
      const bad = await api.json<{ error: { field: string } }>("/silences/abc", 400, {
        method: "DELETE",
      });
      assert.equal(bad.error.field, "id");
      await api.json("/silences?state=old", 400);
    });
  } finally {
    await api.stop();
    await db.drop();
  }
});

Deno.test("PATCH /events/:id hands the change to the alert pipeline in its transaction", async () => {
  const db = await createTestDatabase();
  await using api = startApiServer(db.sql, {
    env: { PAGERDUTY_ROUTING_KEY: "routing-key", SUPABASE_JWT_SECRET: JWT_SECRET },
  });
  try {
    const [id] = await insertEvents(db.sql, 1, { severity: "CRITICAL" });
    await db.sql`
      insert into alert_history (event_id, channel, status, dedup_key, action, sent_at)
      values (${id}, 'pagerduty', 'sent', ${`event-${id}`}, 'trigger', now())`;
    await api.json(`/events/${id}`, 200, {
      method: "PATCH",
      headers: { authorization: `Bearer ${await adminToken("ops@example.com")}` },
      body: JSON.stringify({ status: "ACKNOWLEDGED" }),
    });
    await api.json(`/events/${id}`, 200, {
      method: "PATCH",
      body: JSON.stringify({ status: "RESOLVED", resolution_notes: "fixed" }),
    });
    const rows = await db.sql<{ channel: string; action: string; status: string }[]>`
      select channel, action, status from alert_history
      where event_id = ${id} and action <> 'trigger' order by alert_id`;
    assert.deepEqual(rows.map((r) => [r.channel, r.action, r.status]), [
      ["pagerduty", "acknowledge", "pending"],
      ["pagerduty", "resolve", "pending"],
    ]);
  } finally {
    await api.stop();
    await db.drop();
  }
});
