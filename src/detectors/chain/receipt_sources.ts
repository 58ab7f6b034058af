import type { Tx } from "../../db/client.ts";
import { inFeedRange } from "../change_feed.ts";
import type { FeedRead } from "../change_feed.ts";

/** A platform table whose completed rows claim an on-chain transaction. */
export interface ReceiptSource {
  table: "auto_exchange_requests" | "trades_fills";
  /** `monitoring_events.entity_type` of its rows. */
  entityType: string;
  /** How titles name a row. */
  label: string;
}

/** Exchange requests and trades fills, the rows the runbooks mark completed with a tx hash. */
export const RECEIPT_SOURCES: readonly ReceiptSource[] = [
  {
    table: "auto_exchange_requests",
    entityType: "auto_exchange_request",
    label: "Exchange request",
  },
  { table: "trades_fills", entityType: "trades_fill", label: "Trades fill" },
];

/** One row as the receipt check sees it. */
export interface SourceRow {
  id: string;
  tx_hash: string | null;
  /** Marked completed with a tx hash: its receipt must exist and have succeeded. */
  claims_success: boolean;
  /** When the row reached its current state; the grace period counts from here. */
  since: Date;
}

/** The sources whose tables exist here. */
export async function presentSources(sql: Tx): Promise<ReceiptSource[]> {
  const rows = await sql<{ name: string }[]>`
    select name from unnest(${RECEIPT_SOURCES.map((s) => s.table)}::text[]) as name
    where to_regclass(name) is not null`;
  const present = new Set(rows.map((row) => row.name));
  return RECEIPT_SOURCES.filter((source) => present.has(source.table));
}

/**
 * When a row of `source` reached its state: exchange requests carry `updated_at`;
 * fills only `created_at`, so the change feed's capture time stands in for the
 * moment a fill was marked completed.
 */
function stateTime(sql: Tx, source: ReceiptSource) {
  return source.table === "auto_exchange_requests"
    ? sql`coalesce(r.updated_at, r.created_at)`
    : sql`r.created_at`;
}

/**
 * A page of the first run's backfill: rows created since `since`, after the
 * keyset cursor, that claim success. Rows outside the page come in later pages.
 */
export async function backfillPage(
  sql: Tx,
  source: ReceiptSource,
  options: { since: Date; after: { at: string; id: string } | null; limit: number },
): Promise<(SourceRow & { cursor_at: string })[]> {
  const { since, after, limit } = options;
  // The cursor keeps created_at as text: a JS Date would drop its microseconds.
  return await sql<(SourceRow & { cursor_at: string })[]>`
    select r.id::text as id, r.tx_hash, true as claims_success,
      ${stateTime(sql, source)} as since, r.created_at::text as cursor_at
    from ${sql(source.table)} r
    where r.created_at >= ${since}
      and r.status = 'completed' and r.tx_hash is not null
      and ${
    after ? sql`(r.created_at, r.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql`true`
  }
    order by r.created_at, r.id
    limit ${limit}`;
}

/**
 * The rows whose changes a feed read covers: their current state,
 * and the latest capture time of their changes (a deleted row comes back with
 * `claims_success` false).
 */
export async function changedRows(
  sql: Tx,
  source: ReceiptSource,
  read: FeedRead,
): Promise<SourceRow[]> {
  return await sql<SourceRow[]>`
    with changed as (
      select row_pk, max(captured_at) as captured_at
      from monitoring_changes
      where ${inFeedRange(sql, read)}
      group by row_pk
    )
    select c.row_pk as id, r.tx_hash,
      coalesce(r.status = 'completed' and r.tx_hash is not null, false) as claims_success,
      greatest(${stateTime(sql, source)}, c.captured_at) as since
    from changed c
    left join ${sql(source.table)} r on r.id = c.row_pk::uuid`;
}
