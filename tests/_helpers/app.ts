import type { Sql } from "../../src/db/client.ts";
import type { PackDefinition } from "../../src/detectors/types.ts";
import { PACKS } from "../../src/detectors/registry.ts";
import { createLogger } from "../../src/log/logger.ts";
import { runCycle } from "../../src/cycle/run_cycle.ts";
import type { CycleHooks, CycleSummary } from "../../src/cycle/run_cycle.ts";
import type { CycleRequest } from "../../src/cycle/cycle_plan.ts";
import { setupPacks } from "../../src/detectors/pack_setup.ts";
import { createTestDatabase } from "./database.ts";
import type { TestDatabase } from "./database.ts";
import { createPlatformTables } from "../fixtures/platform_tables.ts";

export const TEST_SERVICE_KEY = "test-service-role-key";

/** Runs one cycle and fails loudly unless it completed. */
export async function cycle(
  sql: Sql,
  request: CycleRequest = {},
  options: { packs?: readonly PackDefinition[]; hooks?: CycleHooks; env?: Record<string, string> } =
    {},
): Promise<CycleSummary> {
  const outcome = await runCycle({
    sql,
    packs: options.packs ?? PACKS,
    log: createLogger(),
    env: options.env ?? {},
    hooks: options.hooks,
    trigger: "test",
  }, request);
  if (outcome.kind !== "completed") {
    throw new Error(`cycle did not run: ${JSON.stringify(outcome)}`);
  }
  return outcome.summary;
}

/** Installs capture and indexes for every pack whose tables exist. */
export async function setup(sql: Sql, packs: readonly PackDefinition[] = PACKS): Promise<void> {
  await setupPacks(sql, packs);
}

/** A fresh test database with the festival tables, their capture and indexes installed. */
export async function festivalDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await createPlatformTables(db.sql, ["festival"]);
  await setup(db.sql);
  return db;
}

/** The summary line of one detector in a cycle. */
export function outcomeOf(summary: CycleSummary, detector: string, mode = "incremental") {
  const outcome = summary.detectors.find((o) => o.detector === detector && o.mode === mode);
  if (!outcome) throw new Error(`detector ${detector} (${mode}) did not run in this cycle`);
  return outcome;
}

/** Live events of one detector. */
export async function openEvents(sql: Sql, detector: string) {
  return await sql<
    {
      event_id: number;
      fingerprint: string;
      severity: string;
      card_id: string | null;
      occurrence_count: number;
      context: Record<string, unknown>;
      title: string;
    }[]
  >`
    select event_id, fingerprint, severity, card_id, occurrence_count, context, title
    from monitoring_events where detection_algorithm = ${detector} and status in ('OPEN', 'ACKNOWLEDGED')
    order by event_id`;
}
