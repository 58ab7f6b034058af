import { z } from "zod";
import { defineConfig } from "./runtime_config.ts";

const seconds = (fallback: number) => z.number().int().positive().default(fallback);

/** Circuit breaker thresholds, shared by detector, cycle and channel breakers. */
export const breakerConfig = defineConfig(
  "breaker",
  "Circuit breakers: failures within window_seconds that open one, and the cool-down before a trial run",
  z.object({
    failure_threshold: z.number().int().min(1).default(3),
    window_seconds: seconds(600),
    cooldown_seconds: seconds(120),
  }),
);

/** How cycles run. */
export const cycleConfig = defineConfig(
  "cycle",
  "Cycles: first-run backfill window, per-detector statement timeout, lease length, change-feed batch, detectors run at once",
  z.object({
    backfill_hours: z.number().positive().default(24),
    detector_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    lease_seconds: seconds(150),
    change_batch_size: z.number().int().min(100).max(1_000_000).default(50_000),
    /**
     * Detectors of one cycle that run at the same time, each on its own connection;
     * never more than the pool holds (`MONITORING_DB_POOL_MAX`, 1 by default on
     * hosted functions, where they run one after another). Two let the slowest
     * detector run beside the rest without crowding a two-core database.
     */
    parallel_detectors: z.number().int().min(1).max(16).default(2),
  }),
);

/** Tier intervals (the scheduler's and /health's notion of "on time"). */
export const tierConfig = defineConfig(
  "tiers",
  "Seconds between cycles of each tier; a tier is stale after three missed intervals",
  z.object({
    critical: seconds(30),
    medium: seconds(120),
    health: seconds(300),
    maintenance: seconds(3600),
  }),
);

/** The ops guide's health thresholds for `system_health_snapshots`. */
export const healthConfig = defineConfig(
  "health",
  "Health snapshot thresholds from the ops guide",
  z.object({
    success_rate_warning_percent: z.number().default(98),
    success_rate_critical_percent: z.number().default(95),
    detection_ms_warning: z.number().default(5000),
    detection_ms_critical: z.number().default(10000),
    open_critical_warning: z.number().int().default(1),
    open_critical_critical: z.number().int().default(3),
  }),
);

const days = (fallback: number) => z.number().int().min(1).max(3650).default(fallback);

/**
 * Retention for the maintenance tier, per kind of history. Live events are never
 * deleted; resolved ones are kept longest because they are the audit trail of what
 * happened to people's money.
 */
export const retentionConfig = defineConfig(
  "retention",
  "Days of history the maintenance tier keeps per table (live events are never deleted), and how much one run may delete",
  z.object({
    events_days: days(90),
    alerts_days: days(90),
    snapshots_days: days(30),
    detector_runs_days: days(14),
    cycles_days: days(14),
    /** Rows per delete statement: short statements hold few locks. */
    batch_size: z.number().int().min(100).max(50_000).default(5000),
    /** Batches per table per run; what is left goes in the next hour's run. */
    max_batches: z.number().int().min(1).max(1000).default(20),
  }),
);

export const coreConfigSpecs = [
  breakerConfig,
  cycleConfig,
  tierConfig,
  healthConfig,
  retentionConfig,
];
