import type { PrefetchedFeeds } from "./change_feed.ts";
import { z } from "zod";
import type { Tx } from "../db/client.ts";
import type { Logger } from "../log/logger.ts";
import type { RuntimeConfig } from "../config/runtime_config.ts";

export const severitySchema = z.enum(["CRITICAL", "HIGH", "MEDIUM", "LOW"]);
export type Severity = z.infer<typeof severitySchema>;

export const tierSchema = z.enum(["critical", "medium", "health", "maintenance"]);
export type Tier = z.infer<typeof tierSchema>;
export const TIERS: readonly Tier[] = tierSchema.options;

export const packSchema = z.enum(["core", "festival", "exchange", "trades", "chain"]);
export type Pack = z.infer<typeof packSchema>;

/**
 * How a detector's findings relate to open events:
 * - `row`: each finding is a bad row, found once; events are closed by people.
 * - `state`: findings are every subject breaching now; an open event of this detector
 *   whose subject is not among them has cleared and is resolved by the detector.
 * - `task`: maintenance work with a report and no findings.
 */
export type DetectorKind = "row" | "state" | "task";

/** `incremental` reads only rows it has not examined; `sweep` re-checks everything. */
export type RunMode = "incremental" | "sweep";

/** One anomaly a detector found. The fingerprint decides whether it is new. */
export interface Finding {
  fingerprint: string;
  title: string;
  severity?: Severity;
  occurredAt?: Date | string;
  cardId?: string | null;
  transactionId?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  confidence?: number;
  context?: Record<string, unknown>;
}

/** What a detector run returns to the cycle runner. */
export interface DetectorResult {
  findings: Finding[];
  rowsExamined: number;
  /** New read position, stored in the same transaction as the events. */
  watermark?: Record<string, unknown>;
  /**
   * Fingerprints this run checked and found healthy (for `row` detectors whose
   * subject can recover, e.g. a card whose balance was corrected).
   */
  cleared?: string[];
  /** Why open events are being resolved (stored in `resolution_notes`). */
  clearedNote?: string;
  /** Free-form results of a `task` (what maintenance did). */
  report?: Record<string, unknown>;
}

/** What a detector receives for one run. */
export interface DetectorContext<C = unknown> {
  /** A transaction with this detector's statement timeout set; rolled back on error. */
  sql: Tx;
  /** This detector's validated thresholds. */
  config: C;
  /** The whole runtime config, for detectors that share settings (e.g. backfill). */
  runtime: RuntimeConfig;
  mode: RunMode;
  tier: Tier;
  /** The stored read position, or null on the first run. */
  watermark: Record<string, unknown> | null;
  cycleId: string;
  now: Date;
  log: Logger;
  /** Aborted when the detector's time budget runs out (for work outside SQL, e.g. RPC). */
  signal: AbortSignal;
  dryRun: boolean;
  /** The raw environment, for detectors configured by their own variables (the chain pack). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * The change feed's transaction-id horizon (`snapshotHorizon`), taken once per cycle
   * by the first detector that asks. Without it, callers compute their own.
   */
  horizon?(): Promise<string>;
  /**
   * The cycle's change-feed reads, taken by the runner ahead of its detectors
   * (`readFeedsAhead`); `readChanges` uses those that start at this run's stored
   * positions instead of a statement of its own.
   */
  prefetched?: PrefetchedFeeds | null;
}

/** A detector: one rule over one pack's data. */
export interface Detector<S extends z.ZodObject = z.ZodObject> {
  id: string;
  pack: Pack;
  eventType: string;
  severity: Severity;
  kind: DetectorKind;
  /** The tier it runs in incrementally. */
  tier: Tier;
  /** A tier where it also runs as a full sweep (e.g. the maintenance balance sweep). */
  sweepTier?: Tier;
  /**
   * The detector reads its change feeds itself, with its own batch size, instead of
   * through `readChanges`: the runner then does not read them ahead for it.
   */
  readsOwnFeeds?: boolean;
  description: string;
  /** Thresholds, every field with its runbook default. `enabled` is added for all. */
  config: S;
  run(ctx: DetectorContext<z.infer<S>>): Promise<DetectorResult>;
}

/** Identity helper that keeps the config type flowing into `run`. */
export function defineDetector<S extends z.ZodObject>(detector: Detector<S>): Detector<S> {
  return detector;
}

/** Why a pack cannot run here (its tables are missing, or it is unconfigured). */
export interface PackAvailability {
  available: boolean;
  reason?: string;
  /** Non-fatal problems shown in /status (e.g. missing indexes). */
  warnings: string[];
}

/** A pack: a set of detectors over one platform's tables, and how to prepare for them. */
export interface PackDefinition {
  id: Pack;
  description: string;
  /** Tables that must exist for the pack to run. */
  tables: readonly string[];
  detectors: readonly Detector[];
  /**
   * Checks the pack can run here. Defaults to "all `tables` exist".
   * The chain pack uses it to require RPC configuration.
   */
  availability?(sql: Tx, env: Record<string, string | undefined>): Promise<PackAvailability>;
  /** Indexes and change capture the pack needs on the platform's tables. */
  setup?: PackSetup;
}

/** What `setup` installs on the platform's tables, idempotently. */
export interface PackSetup {
  /**
   * Indexes by name, each with its full static `create index concurrently if not
   * exists ...` statement (a constant in the pack's source, never assembled).
   */
  indexes: readonly { name: string; table: string; statement: string }[];
  /** Tables whose inserted/updated rows feed the change feed, with their key column. */
  capture: readonly {
    table: string;
    keyColumn: string;
    /**
     * Columns whose values each change keeps (`new_values`, and `old_values` for an
     * update), for detectors that judge a change from the feed alone.
     */
    columns?: readonly string[];
    /**
     * Capture only where the table exists: a pack that also reads another pack's
     * tables when they are there (the chain pack's receipts).
     */
    optional?: boolean;
  }[];
}
