import { z } from "zod";
import type { Tx } from "../db/client.ts";

/** Defaults of a window detector's sampling settings. */
export interface WindowDefaults {
  window_minutes: number;
  buckets: number;
  min_samples: number;
}

/**
 * The zod fields every window detector shares, with that detector's runbook defaults:
 * - `window_minutes`: how far back the rule looks ("in the last hour", "for 15 minutes");
 * - `buckets`: how many consecutive sub-buckets the window is cut into. The condition
 *   must breach in every one of them, so "for N minutes" means held throughout the N
 *   minutes at that granularity, not at one instant. 1 is a plain rolling window;
 * - `min_samples`: rows the whole window needs before its rate means anything (a quiet
 *   hour with 2 requests, 1 failed, is not a 50 % error rate). Each sub-bucket needs
 *   its share, `ceil(min_samples / buckets)`, so one lone row cannot carry a bucket.
 *
 * @example
 * ```ts
 * const config = z.object({
 *   threshold_percent: z.number().default(5),
 *   ...windowFields({ window_minutes: 60, buckets: 1, min_samples: 20 }),
 * });
 * ```
 */
export function windowFields(defaults: WindowDefaults) {
  return {
    window_minutes: z.number().positive().max(7 * 24 * 60).default(defaults.window_minutes),
    buckets: z.number().int().min(1).max(60).default(defaults.buckets),
    min_samples: z.number().int().min(1).default(defaults.min_samples),
  };
}

/** A window detector's sampling settings, as validated by {@linkcode windowFields}. */
export type WindowSettings = WindowDefaults;

/** The window `(from, to]` ending at `now`, and how it is cut into buckets. */
export interface Window {
  from: Date;
  to: Date;
  bucketMs: number;
  buckets: number;
  /** Samples each bucket needs for its own verdict to count. */
  perBucket: number;
  minSamples: number;
}

/** The window a detector evaluates at `now`. */
export function windowAt(now: Date, settings: WindowSettings): Window {
  const ms = settings.window_minutes * 60_000;
  return {
    from: new Date(now.getTime() - ms),
    to: now,
    bucketMs: ms / settings.buckets,
    buckets: settings.buckets,
    perBucket: Math.ceil(settings.min_samples / settings.buckets),
    minSamples: settings.min_samples,
  };
}

/**
 * SQL for the bucket of a row whose time is in `column`: 0 is the most recent
 * sub-bucket, `buckets - 1` the oldest. Rows exactly at `from` are outside the window.
 */
export function bucketOf(sql: Tx, column: string, window: Window) {
  return sql`least(
    floor(extract(epoch from (${window.to}::timestamptz - ${sql(column)})) * 1000
      / ${window.bucketMs})::int,
    ${window.buckets - 1}::int)`;
}

/** SQL restricting `column` to the window. */
export function inWindow(sql: Tx, column: string, window: Window) {
  return sql`${sql(column)} > ${window.from}::timestamptz and ${
    sql(column)
  } <= ${window.to}::timestamptz`;
}

/** What every window finding carries in its context, so operators see the evidence. */
export function windowContext(window: Window) {
  return {
    window_from: window.from.toISOString(),
    window_to: window.to.toISOString(),
    buckets: window.buckets,
    bucket_minutes: window.bucketMs / 60_000,
    min_samples: window.minSamples,
  };
}
