import type { Sql } from "../../src/db/client.ts";
import { connect } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";

/**
 * The seam benchmark sections plug into. A section measures one thing against a
 * baseline measured in the same run, prints its own figures, and returns the
 * targets it checked; `scripts/bench.ts` runs every section in `BENCH_SECTIONS`
 * (or those named by `--only`) and prints the PASS/MISS summary. To add one (the
 * medium tier, the HTTP API...), write `scripts/bench/<name>_section.ts` exporting
 * a `BenchSection` and append it to that list.
 */
export interface BenchSection {
  /** Short id for `--only` (e.g. "festival-critical"). */
  name: string;
  /** What it measures, printed as its heading. */
  title: string;
  run(context: BenchContext): Promise<TargetResult[]>;
}

/** What every section gets from the runner. */
export interface BenchContext {
  /** Data sizes to run at, in transactions (`--sizes`, or the quick defaults). */
  sizes: number[];
  /** Repetitions per measurement (the median is reported). */
  runs: number;
  /** A fresh, migrated database of its own; dropped by `drop()`. */
  scratchDatabase(label: string): Promise<ScratchDatabase>;
  print(line?: string): void;
}

/** A migrated database a section owns for its run. */
export interface ScratchDatabase {
  sql: Sql;
  url: string;
  drop(): Promise<void>;
}

/** One target checked by a section: `<= 100 ms at 5 M`, measured `41 ms`. */
export interface TargetResult {
  target: string;
  measured: string;
  pass: boolean;
}

/** The median of some timings. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times `fn` in milliseconds (wall clock). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Creates migrated scratch databases on the server at `serverUrl`. */
export function scratchDatabases(serverUrl: string): (label: string) => Promise<ScratchDatabase> {
  return async (label) => {
    const name = `bench_${label}_${Deno.pid}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
    const admin = connect(serverUrl, { max: 1 });
    try {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin`create database ${admin(name)}`;
    } finally {
      await admin.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const sql = connect(url.toString(), { max: 4, applicationName: "monitoring-bench" });
    await migrate(sql);
    return {
      sql,
      url: url.toString(),
      async drop() {
        await sql.end({ timeout: 2 });
        const admin = connect(serverUrl, { max: 1 });
        try {
          await admin`drop database if exists ${admin(name)} with (force)`;
        } finally {
          await admin.end();
        }
      },
    };
  };
}
