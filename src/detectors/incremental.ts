import type { DetectorContext } from "./types.ts";
import {
  changedCount,
  changedIds,
  feedsOf,
  positionAt,
  prefetchedReads,
  readFeeds,
  snapshotHorizon,
} from "./change_feed.ts";
import type { FeedPosition, FeedRead, FeedWatermark } from "./change_feed.ts";
import { cycleConfig } from "../config/core_config.ts";
import type { Fragment, Tx } from "../db/client.ts";

/** What a detector reads this run from one or more tables' change feeds. */
export type ChangeBatch =
  | {
    /** First run: examine rows of the backfill window instead of the feed. */
    firstRun: true;
    since: Date;
    watermark: FeedWatermark;
  }
  | {
    firstRun: false;
    /**
     * Per table, the range of its feed this run covers. Its keys stay in Postgres:
     * the detector's statement reads them by range (`inFeedRange`, `examinedRows`).
     */
    feeds: Record<string, FeedRead>;
    /** Changes in every range together; 0 means nothing to examine. */
    changes: number;
    watermark: FeedWatermark;
    /** Some feed had more than one batch; the rest is read next cycle. */
    more: boolean;
  };

/**
 * Reads what changed in `tables` since this detector's watermark. On the first run
 * (no stored position for a table) the detector is told to backfill the configured
 * window instead, and the feed starts at the current horizon; rows seen by both the
 * backfill and the feed are harmless because findings are keyed by fingerprint.
 */
export async function readChanges(
  ctx: DetectorContext,
  tables: readonly string[],
): Promise<ChangeBatch> {
  const { backfill_hours, change_batch_size } = ctx.runtime.get(cycleConfig);
  const stored = feedsOf(ctx.watermark);
  const prefetched = tables.every((table) => stored[table]) &&
    prefetchedReads(ctx.prefetched, { tables, positions: stored, limit: change_batch_size });
  if (prefetched) return batchOf(prefetched);
  const horizon = await (ctx.horizon?.() ?? snapshotHorizon(ctx.sql));
  if (tables.some((table) => !stored[table])) {
    const feeds: Record<string, FeedPosition> = {};
    for (const table of tables) feeds[table] = stored[table] ?? positionAt(horizon);
    return {
      firstRun: true,
      since: new Date(ctx.now.getTime() - backfill_hours * 3_600_000),
      watermark: { feeds },
    };
  }
  return batchOf(
    await readFeeds(ctx.sql, { tables, positions: stored, horizon, limit: change_batch_size }),
  );
}

function batchOf(reads: FeedRead[]): ChangeBatch {
  return {
    firstRun: false,
    feeds: Object.fromEntries(reads.map((read) => [read.table, read])),
    changes: reads.reduce((n, read) => n + read.changes, 0),
    watermark: { feeds: Object.fromEntries(reads.map((read) => [read.table, read.to])) },
    more: reads.some((read) => read.more),
  };
}

/**
 * The rows of `source` a run examines: a condition on the table (its keys read from
 * the feed, found by primary key; on a first run, the backfill window by time) and
 * a subquery counting them. With `captured`, a condition on the feed's captured
 * values (see `changedIds`), only the keys that may meet it are probed; every
 * changed row is still counted as examined.
 */
export function examinedRows(
  sql: Tx,
  batch: ChangeBatch,
  source: { table: string; key: string; time: string },
  captured?: Fragment,
): { where: Fragment; count: Fragment } {
  if (batch.firstRun) {
    const where = sql`${sql(source.time)} >= ${batch.since}`;
    return { where, count: sql`(select count(*)::int from ${sql(source.table)} where ${where})` };
  }
  const read = batch.feeds[source.table];
  return {
    where: sql`${sql(source.key)} = any(${changedIds(sql, read, captured)})`,
    count: changedCount(sql, read),
  };
}
