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
  const missing = await missingTables(sql, pack.tables);
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
  if (setup && setup.capture.length > 0) {
    const captured = await sql<{ table_name: string }[]>`
      select distinct c.relname as table_name
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where t.tgname in ('monitoring_capture_insert', 'monitoring_capture_update')
        and c.relname = any(${setup.capture.map((c) => c.table)}::text[])
        and pg_table_is_visible(c.oid)`;
    const have = new Set(captured.map((row) => row.table_name));
    const absent = new Set(
      await missingTables(sql, setup.capture.filter((c) => c.optional).map((c) => c.table)),
    );
    const lacking = setup.capture
      .filter((c) => !have.has(c.table) && !absent.has(c.table))
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
  }
  if (setup && setup.indexes.length > 0) {
    const valid = await sql<{ name: string }[]>`
      select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relname = any(${setup.indexes.map((index) => index.name)}::text[])
        and i.indisvalid and pg_table_is_visible(c.oid)`;
    const have = new Set(valid.map((row) => row.name));
    const lacking = setup.indexes.filter((index) => !have.has(index.name));
    if (lacking.length > 0) {
      warnings.push(
        `missing indexes ${lacking.map((index) => index.name).join(", ")}: ` +
          "detectors run slowly until `deno task monitor setup` creates them",
      );
    }
  }
  return { available: true, warnings };
}
