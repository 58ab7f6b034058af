import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { CryptoKey, JWTPayload } from "jose";
import { createTestDatabase } from "./_helpers/database.ts";
import { insertEvents, startApiServer } from "./_helpers/api_server.ts";

const HS_SECRET = "legacy-jwt-secret-with-at-least-32-characters";

async function esKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { privateKey, jwk, kid };
}

function token(
  claims: JWTPayload,
  key: { privateKey: CryptoKey | Uint8Array; kid?: string; alg: string },
  expiresIn: string | number = "5m",
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}) })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key.privateKey);
}

const admin = {
  sub: "user-1",
  aud: "authenticated",
  email: "ops@example.com",
  app_metadata: { role: "admin" },
};

Deno.test("monitoring-api admits admin JWTs and answers CORS preflight", async (t) => {
  const db = await createTestDatabase();
  const good = await esKey("key-1");
  const other = await esKey("key-1"); // same kid, different key: a forged signature
  const es = { privateKey: good.privateKey, kid: good.kid, alg: "ES256" };
  const hs = { privateKey: new TextEncoder().encode(HS_SECRET), alg: "HS256" };

  // The auth server's JWKS endpoint, on loopback.
  let jwksFetches = 0;
  const auth = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/auth/v1/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    jwksFetches++;
    return Response.json({ keys: [good.jwk] });
  });
  const inline = startApiServer(db.sql, {
    env: {
      SUPABASE_JWKS: JSON.stringify({ keys: [good.jwk] }),
      SUPABASE_JWT_SECRET: HS_SECRET,
      MONITORING_DASHBOARD_ORIGIN: "https://dash.example.com, http://127.0.0.1:8080",
    },
  });
  const remote = startApiServer(db.sql, {
    env: { SUPABASE_URL: `http://127.0.0.1:${auth.addr.port}` },
  });
  try {
    await t.step("a valid admin token is accepted (inline JWKS, remote JWKS, HS256)", async () => {
      const cases: [string, typeof inline, string][] = [
        ["inline ES256", inline, await token(admin, es)],
        ["remote ES256", remote, await token(admin, es)],
        ["legacy HS256", inline, await token(admin, hs)],
      ];
      for (const [name, server, jwt] of cases) {
        const response = await server.call("/events?limit=1", {
          headers: { authorization: `Bearer ${jwt}` },
        });
        assert.equal(response.status, 200, `${name}: ${await response.text()}`);
      }
      assert.equal(jwksFetches, 1);
    });

    await t.step("bad tokens are 401, non-admins 403", async () => {
      const cases: [string, string, number][] = [
        ["expired", await token(admin, es, Math.floor(Date.now() / 1000) - 60), 401],
        ["forged signature", await token(admin, { ...other, alg: "ES256" }), 401],
        ["wrong HS256 secret", await token(admin, { ...hs, privateKey: new Uint8Array(40) }), 401],
        ["not a JWT header", "eyJub3QiOiJqc29uIn0.e30.c2ln", 401],
        ["authenticated user", await token({ ...admin, app_metadata: { role: "user" } }, es), 403],
        ["no app_metadata", await token({ sub: "user-2", aud: "authenticated" }, es), 403],
        ["anon audience", await token({ ...admin, aud: "anon" }, es), 401],
        [
          "role only in user_metadata",
          await token({ sub: "u", aud: "authenticated", user_metadata: { role: "admin" } }, es),
          403,
        ],
      ];
      for (const [name, jwt, status] of cases) {
        const response = await inline.call("/events", {
          headers: { authorization: `Bearer ${jwt}` },
        });
        const body = await response.json();
        assert.equal(response.status, status, `${name}: ${JSON.stringify(body)}`);
        assert.ok(body.error.message, name);
      }
      const noVerifier = startApiServer(db.sql);
      try {
        const response = await noVerifier.call("/events", {
          headers: { authorization: `Bearer ${await token(admin, es)}` },
        });
        assert.equal(response.status, 401, "JWTs are refused when no keys are configured");
        await response.body?.cancel();
      } finally {
        await noVerifier.stop();
      }
    });

    await t.step("an admin's status change records who made it", async () => {
      const [id] = await insertEvents(db.sql, 1);
      const response = await inline.call(`/events/${id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${await token(admin, es)}` },
        body: JSON.stringify({ status: "ACKNOWLEDGED", resolution_notes: "looking" }),
      });
      assert.equal(response.status, 200, await response.text());
      const [row] = await db.sql<{ actor: string; actor_kind: string }[]>`
        select actor, actor_kind from monitoring_event_status_changes where event_id = ${id}`;
      assert.deepEqual({ ...row }, { actor: "ops@example.com", actor_kind: "admin" });
    });

    await t.step("preflight is answered before auth, for allowed origins only", async () => {
      const preflight = (origin: string) =>
        fetch(`${inline.url}/events/1`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "PATCH",
            "access-control-request-headers": "authorization, content-type",
          },
        });
      const allowed = await preflight("https://dash.example.com");
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://dash.example.com");
      assert.match(allowed.headers.get("access-control-allow-methods") ?? "", /PATCH/);
      assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /authorization/);
      await allowed.body?.cancel();
      const refused = await preflight("https://evil.example.com");
      assert.equal(refused.status, 204);
      assert.equal(refused.headers.get("access-control-allow-origin"), null);
      await refused.body?.cancel();

      const get = await inline.call("/events?limit=1", {
        headers: { origin: "http://127.0.0.1:8080" },
      });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get("access-control-allow-origin"), "http://127.0.0.1:8080");
      await get.body?.cancel();
      const denied = await inline.call("/events", {
        headers: { origin: "http://127.0.0.1:8080", authorization: "Bearer nope" },
      });
      assert.equal(denied.status, 401);
      // The browser must be able to read the 401, so CORS headers ride on errors too.
      assert.equal(denied.headers.get("access-control-allow-origin"), "http://127.0.0.1:8080");
      await denied.body?.cancel();
    });
  } finally {
    await inline.stop();
    await remote.stop();
    await auth.shutdown();
    await db.drop();
  }
});
