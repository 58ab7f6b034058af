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
  "Cycles: first-run backfill window, per-detector statement timeout, lease length",
  z.object({
    backfill_hours: z.number().positive().default(24),
    detector_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    lease_seconds: seconds(150),
    change_batch_size: z.number().int().min(100).max(1_000_000).default(50_000),
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

/** Retention for the maintenance tier. */
export const retentionConfig = defineConfig(
  "retention",
  "Days of history the maintenance tier keeps (live events are never deleted)",
  z.object({ retention_days: z.number().int().min(1).default(30) }),
);

export const coreConfigSpecs = [
  breakerConfig,
  cycleConfig,
  tierConfig,
  healthConfig,
  retentionConfig,
];
