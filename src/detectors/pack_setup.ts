import type { Sql } from "../db/client.ts";
import type { PackDefinition } from "./types.ts";
import { missingTables } from "./pack_status.ts";

/** What setting up one pack did. */
export interface PackSetupReport {
  pack: string;
  status: "ready" | "skipped";
  reason?: string;
  capture: string[];
  indexesCreated: string[];
  indexesPresent: string[];
}

/**
 * Prepares the platform's tables for a pack, idempotently: installs change capture
 * triggers and builds the indexes its detectors need with CREATE INDEX CONCURRENTLY,
 * which never blocks the platform's writes. An index left invalid by an interrupted
 * build is dropped (concurrently) and rebuilt. Runs outside any transaction, as
 * concurrent index builds require.
 */
export async function setupPack(sql: Sql, pack: PackDefinition): Promise<PackSetupReport> {
  const report: PackSetupReport = {
    pack: pack.id,
    status: "ready",
    capture: [],
    indexesCreated: [],
    indexesPresent: [],
  };
  const missing = await missingTables(sql, pack.tables);
  if (missing.length > 0) {
    return { ...report, status: "skipped", reason: `missing tables: ${missing.join(", ")}` };
  }
  for (const { table, keyColumn, columns = [], optional } of pack.setup?.capture ?? []) {
    if (optional && (await missingTables(sql, [table])).length > 0) continue;
    await sql`
      select monitoring_install_capture(${table}::regclass, ${keyColumn}, ${[
      ...columns,
    ]}::text[])`;
    report.capture.push(table);
  }
  for (const index of pack.setup?.indexes ?? []) {
    const [existing] = await sql<{ valid: boolean }[]>`
      select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relname = ${index.name} and pg_table_is_visible(c.oid)`;
    if (existing?.valid) {
      report.indexesPresent.push(index.name);
      continue;
    }
    if (existing) await sql`drop index concurrently if exists ${sql(index.name)}`;
    // The statement is a constant written in the pack's source, not assembled here.
    await sql.unsafe(index.statement);
    report.indexesCreated.push(index.name);
  }
  return report;
}

/** Sets up every pack, one after another, reporting each. */
export async function setupPacks(
  sql: Sql,
  packs: readonly PackDefinition[],
): Promise<PackSetupReport[]> {
  const reports: PackSetupReport[] = [];
  for (const pack of packs) reports.push(await setupPack(sql, pack));
  return reports;
}
