import { z } from "zod";
import type { Sql } from "../../src/db/client.ts";
import { defineDetector } from "../../src/detectors/types.ts";
import type { Detector, PackDefinition, Tier } from "../../src/detectors/types.ts";

/** How a {@linkcode controlledDetector} behaves on its next runs. */
export type Behaviour = "ok" | "throw" | "sleep";

/**
 * A detector whose behaviour a test switches between runs: `ok` finds nothing,
 * `throw` fails with "upstream down", `sleep` runs `pg_sleep(sleepSeconds)` (default
 * 5, so only its statement timeout ends it). `runs` counts the runs that started.
 */
export function controlledDetector(
  id: string,
  behaviour: Behaviour,
  tier: Tier = "critical",
  sleepSeconds = 5,
): Detector & { behaviour: Behaviour; runs: number } {
  const detector = Object.assign(
    defineDetector({
      id,
      pack: "core",
      eventType: "test",
      severity: "LOW",
      kind: "task",
      tier,
      description: `test detector ${id}`,
      config: z.object({}),
      async run(ctx) {
        detector.runs++;
        if (detector.behaviour === "throw") throw new Error("upstream down");
        if (detector.behaviour === "sleep") await ctx.sql`select pg_sleep(${sleepSeconds})`;
        return { findings: [], rowsExamined: 1 };
      },
    }),
    { behaviour, runs: 0 },
  );
  return detector;
}

/** A pack of the given detectors with no tables, so it is always available. */
export function testPack(detectors: Detector[]): PackDefinition {
  return { id: "core", description: "detectors under test", tables: [], detectors };
}

/** Writes a `monitoring_config` row as an operator would (an UPSERT of the whole value). */
export async function setConfig(sql: Sql, key: string, value: unknown): Promise<void> {
  await sql`
    insert into monitoring_config (key, value, updated_by) values (${key}, ${
    sql.json(
      value as never,
    )
  }, 'test')
    on conflict (key) do update set value = excluded.value, updated_at = now()`;
}
