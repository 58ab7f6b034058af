import assert from "node:assert/strict";
import type { Sql } from "../src/db/client.ts";
import { connect } from "../src/db/client.ts";
import { migrate, readMigrations } from "../src/db/migrate.ts";
import { createTestDatabase } from "./_helpers/database.ts";

/** Tables, views, functions and columns in `public`: what a migration can change. */
async function schemaShape(sql: Sql): Promise<string[]> {
  const rows = await sql<{ item: string }[]>`
    select c.relkind::text || ' ' || c.relname || '.' || coalesce(a.attname, '') as item
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
    left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    union all
    select 'f ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'public'
    order by 1`;
  return rows.map((row) => row.item);
}

Deno.test("migrate() applies every migration to an empty database, and a re-run applies nothing", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    const migrations = await readMigrations();
    const first = await migrate(db.sql);
    assert.deepEqual(first.applied, migrations.map((m) => `${m.version}_${m.name}`));
    assert.equal(first.alreadyApplied, 0);
    const recorded = await db.sql<{ version: string }[]>`
      select version from monitoring_schema_migrations order by version`;
    assert.deepEqual(recorded.map((r) => r.version), migrations.map((m) => m.version));
    for (
      const object of [
        "monitoring_events",
        "system_health_snapshots",
        "alert_history",
        "monitoring_system_health",
        "monitoring_daily_summary",
      ]
    ) {
      const [{ exists }] = await db.sql`select to_regclass(${object}) is not null as exists`;
      assert.ok(exists, `${object} exists`);
    }

    const shape = await schemaShape(db.sql);
    const again = await migrate(db.sql);
    assert.deepEqual(again, { applied: [], alreadyApplied: migrations.length });
    assert.deepEqual(await schemaShape(db.sql), shape);
  } finally {
    await db.drop();
  }
});

Deno.test("two migrators starting at once apply each migration exactly once", async () => {
  const db = await createTestDatabase({ empty: true });
  const a = connect(db.url, { max: 1 });
  const b = connect(db.url, { max: 1 });
  try {
    const [first, second] = await Promise.all([migrate(a), migrate(b)]);
    const versions = (await readMigrations()).map((m) => `${m.version}_${m.name}`);
    assert.deepEqual([...first.applied, ...second.applied].sort(), versions);
    // The loser of the lock waited, then found everything done.
    assert.ok(first.applied.length === 0 || second.applied.length === 0);
    const [{ n }] = await db.sql`select count(*)::int as n from monitoring_schema_migrations`;
    assert.equal(n, versions.length);
  } finally {
    await a.end();
    await b.end();
    await db.drop();
  }
});

Deno.test("every table the migrations create has RLS enabled and no policy for anon or authenticated", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    await migrate(db.sql);
    const tables = await db.sql<{ name: string; rls: boolean }[]>`
      select c.relname as name, c.relrowsecurity as rls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`;
    assert.ok(tables.length >= 10);
    assert.deepEqual(tables.filter((t) => !t.rls).map((t) => t.name), []);
    const policies = await db.sql<{ tablename: string; policyname: string }[]>`
      select tablename, policyname from pg_policies
      where schemaname = 'public' and roles && array['anon', 'authenticated', 'public']::name[]`;
    assert.deepEqual(policies.map((p) => ({ ...p })), []);
  } finally {
    await db.drop();
  }
});

Deno.test("migration files are uniquely numbered and each opens with a comment on its purpose", async () => {
  const migrations = await readMigrations();
  const versions = migrations.map((m) => m.version);
  assert.equal(new Set(versions).size, versions.length);
  for (const migration of migrations) {
    assert.match(migration.version, /^\d{14}$/, migration.name);
    assert.match(migration.sql, /^-- \S/, `${migration.version}_${migration.name}`);
  }
});
