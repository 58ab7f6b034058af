import type { Sql } from "./client.ts";

/** One migration file: its version (the file name's numeric prefix) and SQL. */
export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** What {@linkcode migrate} did. */
export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

const MIGRATIONS_DIR = new URL("../../supabase/migrations/", import.meta.url);
// Any constant works; it only has to be the same for every migrating process.
const MIGRATION_LOCK_KEY = 7_261_123;

/** Reads `supabase/migrations/*.sql` in version order. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d+)_(.+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    migrations.push({
      version: match[1],
      name: match[2],
      sql: await Deno.readTextFile(new URL(entry.name, dir)),
    });
  }
  return migrations.sort((a, b) => a.version.localeCompare(b.version));
}

/**
 * Applies pending migrations in version order, all in one transaction, recording
 * them in `monitoring_schema_migrations`: a migration that fails leaves the schema
 * as it was, with nothing half-applied. A transaction-scoped advisory lock makes two
 * processes migrating at once safe: the second waits, then finds nothing to do.
 * Applied migrations are never edited, so only versions are compared.
 */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<MigrateResult> {
  const all = migrations ?? (await readMigrations());
  const applied: string[] = [];
  let alreadyApplied = 0;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists monitoring_schema_migrations (
        version text primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    // Supabase grants anon and authenticated access to new tables in public; like
    // every monitoring table, this one is for the service role only.
    await tx`alter table monitoring_schema_migrations enable row level security`;
    const done = new Set(
      (await tx<{ version: string }[]>`select version from monitoring_schema_migrations`)
        .map((row) => row.version),
    );
    for (const migration of all) {
      if (done.has(migration.version)) {
        alreadyApplied++;
        continue;
      }
      await tx.unsafe(migration.sql);
      await tx`
        insert into monitoring_schema_migrations (version, name)
        values (${migration.version}, ${migration.name})`;
      applied.push(`${migration.version}_${migration.name}`);
    }
  });
  return { applied, alreadyApplied };
}
