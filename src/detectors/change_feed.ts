import type { Tx } from "../db/client.ts";

/**
 * A position in one table's change feed: every change ordered at or before
 * (xid, id) has been read. Only transactions older than the snapshot horizon are
 * ever read, so nothing can later appear before a stored position.
 */
export interface FeedPosition {
  xid: string;
  id: string;
}

/** A detector's stored watermark: one feed position per source table. */
export interface FeedWatermark {
  feeds: Record<string, FeedPosition>;
}

/** One read of a feed. */
export interface FeedRead {
  /** Keys of the rows inserted or updated since `position` (deduplicated, as text). */
  keys: string[];
  /**
   * The subset of `keys` with an update among the changes read (or a change
   * captured before the feed recorded operations): rows whose earlier state a
   * detector may already have counted.
   */
  updated: string[];
  position: FeedPosition;
  /** True when the batch limit cut the read short; the rest comes next cycle. */
  more: boolean;
}

/** The feed positions stored in a detector's watermark, if any. */
export function feedsOf(watermark: Record<string, unknown> | null): Record<string, FeedPosition> {
  const feeds = (watermark as FeedWatermark | null)?.feeds;
  return feeds && typeof feeds === "object" ? feeds : {};
}

/**
 * The transaction-id horizon: every transaction below it that could have written
 * this database's change feed has finished, so its rows are visible now and none
 * can commit later. Reading up to (not past) the horizon is what lets a
 * late-committing row be examined exactly once.
 *
 * Transaction ids are cluster-wide, so `pg_snapshot_xmin` alone would let a long
 * transaction in another database (a report, a dump, another tenant) stall
 * detection here. Only sessions connected to this database can write its feed,
 * so in-progress ids whose session is visibly elsewhere are ignored. When
 * `pg_stat_activity` hides a session (missing privileges), its id is kept: the
 * horizon errs towards waiting, never towards skipping a row.
 */
export async function snapshotHorizon(sql: Tx): Promise<string> {
  const [row] = await sql<{ horizon: string }[]>`
    with snap as (select pg_current_snapshot() as s),
    -- The functions under pg_stat_activity and pg_prepared_xacts, not the views: the
    -- views' joins made planning this statement (every detector, every cycle, no
    -- prepared statements) cost twice its execution. Same rows, same visibility.
    others as (select oid from pg_database where datname <> current_database()),
    elsewhere as (
      select backend_xid::text as xid from pg_stat_get_activity(null)
      where backend_xid is not null and datid in (select oid from others)
      union all
      select transaction::text from pg_prepared_xact() where dbid in (select oid from others)
    )
    select coalesce(
      (select min(x) from snap, pg_snapshot_xip(snap.s) as x
        -- xid8 carries an epoch; the 32-bit ids of pg_stat_activity are its low bits.
        where (x::text::numeric % 4294967296)::text not in (select xid from elsewhere)),
      (select pg_snapshot_xmax(s) from snap)
    )::text as horizon`;
  return row.horizon;
}

/** The starting position for a first run: the horizon, so older rows are left to backfill. */
export function positionAt(horizon: string): FeedPosition {
  return { xid: horizon, id: "0" };
}

/**
 * Reads the keys of rows of `table` changed after `position`, from transactions
 * below `horizon`, at most `limit` changes, in (xid, change id) order.
 */
export async function readFeed(
  sql: Tx,
  options: { table: string; position: FeedPosition; horizon: string; limit: number },
): Promise<FeedRead> {
  const { table, position, horizon, limit } = options;
  const rows = await sql<{ row_pk: string; txid: string; change_id: string; op: string | null }[]>`
    select row_pk, txid::text as txid, change_id::text as change_id, op
    from monitoring_changes
    where source_table = ${table}
      and (txid, change_id) > (${position.xid}::xid8, ${position.id}::bigint)
      and txid < ${horizon}::xid8
    -- Qualified: bare names would sort by the text output columns, where '999' > '1000'.
    order by monitoring_changes.txid, monitoring_changes.change_id
    limit ${limit}`;
  if (rows.length === 0) {
    // Nothing new: jump to the horizon so the next read starts from there.
    const xid = BigInt(horizon) > BigInt(position.xid) ? horizon : position.xid;
    return {
      keys: [],
      updated: [],
      position: xid === position.xid ? position : { xid, id: "0" },
      more: false,
    };
  }
  const last = rows[rows.length - 1];
  return {
    keys: [...new Set(rows.map((row) => row.row_pk))],
    updated: [...new Set(rows.filter((row) => row.op !== "INSERT").map((row) => row.row_pk))],
    position: { xid: last.txid, id: last.change_id },
    more: rows.length === limit,
  };
}
