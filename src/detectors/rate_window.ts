import type { Fragment, Tx } from "../db/client.ts";
import type { Window } from "./window.ts";

/** One subject's rate over a window, and over each of its sub-buckets. */
export interface SubjectRate {
  subject: string;
  samples: number;
  hits: number;
  /** hits / samples in percent, over the whole window. */
  rate: number;
  /** Sub-buckets with enough samples whose own rate breached. */
  breaching_buckets: number;
  /** True when the window has `min_samples` and every sub-bucket breached. */
  breach: boolean;
  by_bucket: { bucket: number; samples: number; hits: number; rate: number }[];
}

/** What {@linkcode rateBySubject} measures. */
export interface RateQuery {
  /**
   * Rows in the window, one per sample, with columns `subject text`, `bucket int`
   * (from `bucketOf`) and `hit boolean` (the thing whose share is measured).
   */
  samples: Fragment;
  window: Window;
  thresholdPercent: number;
  /** `above`: breach when the hit share exceeds the threshold; `below`: when under it. */
  direction: "above" | "below";
}

/**
 * Measures a share per subject over a bucketed window, entirely in Postgres: counts
 * per subject and sub-bucket, then a verdict per subject. A subject breaches when the
 * whole window has at least `min_samples` rows and every sub-bucket has its share of
 * samples and breaches on its own (the condition held throughout the window). The
 * comparison is strict, so a rate exactly at the threshold is not a breach.
 *
 * @returns every subject seen in the window (breaching or not), most affected first.
 */
export async function rateBySubject(sql: Tx, query: RateQuery): Promise<SubjectRate[]> {
  const { window, thresholdPercent } = query;
  const breached = query.direction === "above"
    ? sql`hits * 100.0 / samples > ${thresholdPercent}`
    : sql`hits * 100.0 / samples < ${thresholdPercent}`;
  return await sql<SubjectRate[]>`
    with samples as (${query.samples}),
    per_bucket as (
      select subject, bucket, count(*)::int as samples, count(*) filter (where hit)::int as hits
      from samples group by subject, bucket
    ),
    judged as (
      select *, samples >= ${window.perBucket} and ${breached} as breached from per_bucket
    )
    select subject,
      sum(samples)::int as samples,
      sum(hits)::int as hits,
      round(sum(hits) * 100.0 / sum(samples), 2)::float8 as rate,
      count(*) filter (where breached)::int as breaching_buckets,
      sum(samples) >= ${window.minSamples}
        and count(*) filter (where breached) = ${window.buckets} as breach,
      jsonb_agg(jsonb_build_object('bucket', bucket, 'samples', samples, 'hits', hits,
        'rate', round(hits * 100.0 / samples, 2)) order by bucket) as by_bucket
    from judged
    group by subject
    order by rate desc, subject`;
}
