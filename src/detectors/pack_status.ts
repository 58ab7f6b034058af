import type { Tx } from "../db/client.ts";
import type { PackAvailability, PackDefinition } from "./types.ts";

/** Which of `tables` exist in the search path. */
export async function missingTables(sql: Tx, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const rows = await sql<{ name: string }[]>`
    select name from unnest(${tables as string[]}::text[]) as name
    where to_regclass(name) is null`;
  return rows.map((row) => row.name);
}

/** What the catalog says about the tables, triggers and indexes some packs need. */
interface CatalogFacts {
  missing: Set<string>;
  /** Tables carrying a change-capture trigger. */
  captured: Set<string>;
  /** Of those, tables whose capture keeps keys only (installed before it kept values). */
  keysOnly: Set<string>;
  /** Indexes that exist and are valid. */
  validIndexes: Set<string>;
}

/**
 * Reads, in one statement, every catalog fact the availability of `packs` depends
 * on: a cycle asks this before its detectors, so it costs one round trip however
 * many packs it plans.
 */
async function catalogFacts(sql: Tx, packs: readonly PackDefinition[]): Promise<CatalogFacts> {
  const tables = new Set<string>();
  const captureTables = new Set<string>();
  const indexes = new Set<string>();
  for (const pack of packs) {
    for (const table of pack.tables) tables.add(table);
    for (const capture of pack.setup?.capture ?? []) {
      captureTables.add(capture.table);
      if (capture.optional) tables.add(capture.table);
    }
    for (const index of pack.setup?.indexes ?? []) indexes.add(index.name);
  }
  if (tables.size + captureTables.size + indexes.size === 0) {
    return {
      missing: new Set(),
      captured: new Set(),
      keysOnly: new Set(),
      validIndexes: new Set(),
    };
  }
  const [row] = await sql<
    { missing: string[]; captured: string[]; keys_only: string[]; valid_indexes: string[] }[]
  >`
    with capture as (
      select c.relname::text as name, t.tgnargs
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where t.tgname in ('monitoring_capture_insert', 'monitoring_capture_update')
        and c.relname = any(${[...captureTables]}::text[])
        and pg_table_is_visible(c.oid)
    )
    select
      array(select name from unnest(${[...tables]}::text[]) as name
        where to_regclass(name) is null) as missing,
      array(select distinct name from capture) as captured,
      -- Its only argument is the key column: no captured values.
      array(select distinct name from capture where tgnargs = 1) as keys_only,
      array(select c.relname::text from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = any(${[...indexes]}::text[])
          and i.indisvalid and pg_table_is_visible(c.oid)) as valid_indexes`;
  return {
    missing: new Set(row.missing),
    captured: new Set(row.captured),
    keysOnly: new Set(row.keys_only),
    validIndexes: new Set(row.valid_indexes),
  };
}

/**
 * Decides from the catalog facts whether a pack can run: its tables exist, its own
 * check passes, and its change capture is installed. Missing or invalid indexes are
 * warnings, not reasons to skip: detection still works, just more slowly.
 */
async function availabilityOf(
  sql: Tx,
  pack: PackDefinition,
  facts: CatalogFacts,
  env: Record<string, string | undefined>,
): Promise<PackAvailability> {
  const missing = pack.tables.filter((table) => facts.missing.has(table));
  if (missing.length > 0) {
    return { available: false, reason: `missing tables: ${missing.join(", ")}`, warnings: [] };
  }
  const warnings: string[] = [];
  if (pack.availability) {
    const custom = await pack.availability(sql, env);
    if (!custom.available) return custom;
    warnings.push(...custom.warnings);
  }
  const setup = pack.setup;
  const lacking = (setup?.capture ?? [])
    .filter((c) => !facts.captured.has(c.table) && !(c.optional && facts.missing.has(c.table)))
    .map((c) => c.table);
  if (lacking.length > 0) {
    return {
      available: false,
      reason: `change capture not installed on ${
        lacking.join(", ")
      }: run \`deno task monitor setup\``,
      warnings,
    };
  }
  const valueless = (setup?.capture ?? [])
    .filter((c) => (c.columns?.length ?? 0) > 0 && facts.keysOnly.has(c.table))
    .map((c) => c.table);
  if (valueless.length > 0) {
    warnings.push(
      `change capture on ${valueless.join(", ")} keeps keys only: detectors read each changed ` +
        "row instead of its captured values until `deno task monitor setup` reinstalls it",
    );
  }
  const unindexed = (setup?.indexes ?? []).filter((index) => !facts.validIndexes.has(index.name));
  if (unindexed.length > 0) {
    warnings.push(
      `missing indexes ${unindexed.map((index) => index.name).join(", ")}: ` +
        "detectors run slowly until `deno task monitor setup` creates them",
    );
  }
  return { available: true, warnings };
}

/**
 * Whether each of `packs` can run now, by pack id (see {@linkcode packAvailability}),
 * from a single catalog read.
 */
export async function packsAvailability(
  sql: Tx,
  packs: readonly PackDefinition[],
  env: Record<string, string | undefined>,
): Promise<Map<string, PackAvailability>> {
  const facts = await catalogFacts(sql, packs);
  const result = new Map<string, PackAvailability>();
  for (const pack of packs) result.set(pack.id, await availabilityOf(sql, pack, facts, env));
  return result;
}

/**
 * Decides whether a pack can run: its tables exist, its own check passes, and its
 * change capture is installed. Missing or invalid indexes are warnings, not reasons
 * to skip: detection still works, just more slowly.
 */
export async function packAvailability(
  sql: Tx,
  pack: PackDefinition,
  env: Record<string, string | undefined>,
): Promise<PackAvailability> {
  return (await packsAvailability(sql, [pack], env)).get(pack.id)!;
}
