import type { Fragment, Tx } from "../db/client.ts";

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

/**
 * One read of a feed: the changes in (from, to], at most the batch limit of them.
 * The keys stay in Postgres (a detector's statement reads them back by range, with
 * {@linkcode inFeedRange}), so a read costs one small row, however many changes.
 */
export interface FeedRead {
  table: string;
  from: FeedPosition;
  /** Where the read stopped: the new position. Equal to `from` when nothing was read. */
  to: FeedPosition;
  /** Changes in the range (a row changed twice counts twice). */
  changes: number;
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
  const [row] = await sql<{ horizon: string }[]>`select (${horizonQuery(sql)})::text as horizon`;
  return row.horizon;
}

/** The horizon (see {@linkcode snapshotHorizon}) as a scalar subquery of type xid8. */
function horizonQuery(sql: Tx): Fragment {
  return sql`
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
    )`;
}

/** The starting position for a first run: the horizon, so older rows are left to backfill. */
export function positionAt(horizon: string): FeedPosition {
  return { xid: horizon, id: "0" };
}

/**
 * Where one feed's read from a position ends: its last change read and how many
 * were read.
 */
interface FeedEnd {
  tbl: string;
  /** The position read from. */
  from_xid: string;
  from_id: string;
  xid: string | null;
  id: string | null;
  n: number;
}

/**
 * Where each feed of `feeds` (a subquery with columns tbl, xid, id: a table and a
 * position) ends after at most `limit` changes from transactions below `horizon`
 * (an xid8 expression), in (xid, change id) order. A subquery with one row per
 * feed, columns tbl, from_xid, from_id (the position), xid, id (text; null when
 * nothing was read) and n (changes read): the changes themselves stay in Postgres.
 */
function feedEnds(sql: Tx, feeds: Fragment, horizon: Fragment, limit: number): Fragment {
  return sql`
    select f.tbl, f.xid::text as from_xid, f.id::text as from_id,
      last.txid::text as xid, last.change_id::text as id, coalesce(last.n, 0)::int as n
    from (${feeds}) f
    left join lateral (
      select page.txid, page.change_id, count(*) over () as n
      from (
        select c.txid, c.change_id from monitoring_changes c
        where c.source_table = f.tbl and (c.txid, c.change_id) > (f.xid, f.id)
          and c.txid < ${horizon}
        order by c.txid, c.change_id
        limit ${limit}
      ) page
      order by page.txid desc, page.change_id desc
      limit 1
    ) last on true`;
}

/** The read a feed end describes. A feed with nothing new jumps to the horizon. */
function readOf(end: FeedEnd, from: FeedPosition, horizon: string, limit: number): FeedRead {
  if (end.n === 0) {
    const xid = BigInt(horizon) > BigInt(from.xid) ? horizon : from.xid;
    const to = xid === from.xid ? from : { xid, id: "0" };
    return { table: end.tbl, from, to, changes: 0, more: false };
  }
  return {
    table: end.tbl,
    from,
    to: { xid: end.xid!, id: end.id! },
    changes: end.n,
    more: end.n === limit,
  };
}

/**
 * Reads how far each of `tables`' feeds goes after its position, from transactions
 * below `horizon`, at most `limit` changes per table: one statement for every
 * table, returning one row each, not the changes themselves.
 */
export async function readFeeds(
  sql: Tx,
  options: {
    tables: readonly string[];
    positions: Record<string, FeedPosition>;
    horizon: string;
    limit: number;
  },
): Promise<FeedRead[]> {
  const { tables, positions, horizon, limit } = options;
  const feeds = sql`
    select * from unnest(${tables as string[]}::text[],
      ${tables.map((t) => positions[t].xid)}::xid8[],
      ${tables.map((t) => positions[t].id)}::bigint[]) as f(tbl, xid, id)`;
  const ends = await sql<FeedEnd[]>`${feedEnds(sql, feeds, sql`${horizon}::xid8`, limit)}`;
  return ends.map((end) => readOf(end, positions[end.tbl], horizon, limit));
}

/** Feeds read ahead of a cycle's detectors (see {@linkcode readFeedsAhead}). */
export interface PrefetchedFeeds {
  horizon: string;
  limit: number;
  ends: FeedEnd[];
}

/**
 * Reads, in one statement, every feed the stored watermarks `keys` name, each from
 * its stored position, up to one horizon taken in the same statement: the cycle
 * runner's read-ahead, so that detectors sharing a feed and a position (every
 * detector of a table, in steady state) read it once per cycle, not once each,
 * and start with their reads in hand. Turn it into a run's reads with
 * {@linkcode prefetchedReads}. Null when no watermark names a feed (first runs).
 *
 * Positions only move forward and the feed below the horizon never changes, so a
 * read taken ahead stays exact for a run whose stored position still matches.
 */
export async function readFeedsAhead(
  sql: Tx,
  options: { keys: readonly string[]; limit: number },
): Promise<PrefetchedFeeds | null> {
  const feeds = sql`
    select distinct feed.key as tbl, (feed.value ->> 'xid')::xid8 as xid,
      (feed.value ->> 'id')::bigint as id
    from monitoring_watermarks w
    cross join lateral jsonb_each(
      case when jsonb_typeof(w.position -> 'feeds') = 'object' then w.position -> 'feeds' end
    ) as feed
    where w.detector_id = any(${options.keys as string[]}::text[])
      and jsonb_typeof(feed.value) = 'object'`;
  const [row] = await sql<{ prefetched: PrefetchedFeeds | null }[]>`
    with feeds as materialized (${feeds})
    select jsonb_build_object('horizon', h.horizon::text, 'limit', ${options.limit}::int,
      'ends', (select jsonb_agg(to_jsonb(e))
        from (${feedEnds(sql, sql`select * from feeds`, sql`h.horizon`, options.limit)}) e)
    ) as prefetched
    from (select (${horizonQuery(sql)}) as horizon) h
    where exists (select 1 from feeds)`;
  return row?.prefetched ?? null;
}

/**
 * The read-ahead reads of `tables` from `positions`, or null when some table was
 * not read ahead from that very position (a feed new to the watermark, a position
 * another cycle moved since) or the batch limit differs: the caller then reads
 * them itself.
 */
export function prefetchedReads(
  prefetched: PrefetchedFeeds | null | undefined,
  options: { tables: readonly string[]; positions: Record<string, FeedPosition>; limit: number },
): FeedRead[] | null {
  if (!prefetched || prefetched.limit !== options.limit) return null;
  const reads: FeedRead[] = [];
  for (const table of options.tables) {
    const from = options.positions[table];
    const end = prefetched.ends.find((end) =>
      end.tbl === table && end.from_xid === from.xid && end.from_id === from.id
    );
    if (!end) return null;
    reads.push(readOf(end, from, prefetched.horizon, options.limit));
  }
  return reads;
}

/** The feed rows of a read, as a SQL condition over `monitoring_changes`. */
export function inFeedRange(sql: Tx, read: Pick<FeedRead, "table" | "from" | "to">): Fragment {
  const { table, from, to } = read;
  return sql`monitoring_changes.source_table = ${table}
    and (monitoring_changes.txid, monitoring_changes.change_id)
      > (${from.xid}::xid8, ${from.id}::bigint)
    and (monitoring_changes.txid, monitoring_changes.change_id)
      <= (${to.xid}::xid8, ${to.id}::bigint)`;
}

/**
 * The keys of the rows a read covers, as a uuid[] expression: `id = any(...)` finds
 * them through the table's primary key, one probe per key (an array from a
 * subquery, so the planner never trades the probes for a scan of the table).
 *
 * @param captured a condition on the change's captured values (`new_values`, see
 *   migration 000800) that a row must meet to be worth reading, so the rows that
 *   cannot matter are never probed. A change captured without values always passes;
 *   whether the row meets the condition now is for the caller's query to check.
 */
export function changedIds(sql: Tx, read: FeedRead, captured?: Fragment): Fragment {
  // No distinct: the index scan sorts the array and drops repeated keys itself.
  return sql`array(select row_pk::uuid from monitoring_changes where ${inFeedRange(sql, read)}${
    captured ? sql` and (new_values is null or (${captured}))` : sql``
  })`;
}

/** How many rows a read covers (each changed row once), as a subquery. */
export function changedCount(sql: Tx, read: FeedRead): Fragment {
  // Keys are compared as bytes: the default collation's rules cost more than the read.
  return sql`(select count(distinct row_pk collate "C")::int from monitoring_changes where ${
    inFeedRange(sql, read)
  })`;
}
