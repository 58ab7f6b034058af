import { z } from "zod";
import type { TransactionReceipt } from "ethers";
import { defineDetector } from "../types.ts";
import type { DetectorContext, Finding } from "../types.ts";
import { positionAt, readFeeds, snapshotHorizon } from "../change_feed.ts";
import { cycleConfig } from "../../config/core_config.ts";
import { rpcSettings } from "./chain_client.ts";
import type { ChainClient } from "./chain_client.ts";
import { withChain } from "./with_chain.ts";
import { backfillPage, changedRows, presentSources } from "./receipt_sources.ts";
import type { ReceiptSource, SourceRow } from "./receipt_sources.ts";
import { dropQueued, parseReceiptWatermark, pickDue } from "./receipt_queue.ts";
import type { QueuedRow, ReceiptWatermark } from "./receipt_queue.ts";

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

const receiptConfig = z.object({
  ...rpcSettings,
  /**
   * Hours of completed rows the first run checks; null uses the cycle's backfill_hours,
   * 0 checks only rows completed from then on (enabling the pack on a long history).
   */
  backfill_hours: z.number().min(0).nullable().default(null),
  /** A completed row with no receipt is flagged only after this long. */
  grace_seconds: z.number().int().min(0).default(600),
  /** Young rows without a receipt are asked about again at most this often. */
  recheck_seconds: z.number().int().min(0).default(60),
  /** Receipts fetched per run; the rest wait in the queue for the next run. */
  receipts_per_run: z.number().int().min(1).max(5_000).default(200),
  rpc_concurrency: z.number().int().min(1).max(64).default(8),
  /** No new receipt is fetched after this much of the run (the function's CPU and wall budget). */
  time_budget_ms: z.number().int().min(100).max(120_000).default(5_000),
  /** Changes read from each table's feed per run. */
  feed_batch_size: z.number().int().min(10).max(100_000).default(2_000),
  /** Rows read per backfill page. */
  backfill_page_size: z.number().int().min(10).max(100_000).default(1_000),
  /**
   * While this many rows wait, no new rows are read (back-pressure on a slow node;
   * the queue lives in the watermark, rewritten every run, so it stays small).
   */
  max_queue: z.number().int().min(10).max(100_000).default(2_000),
});
type ReceiptConfig = z.infer<typeof receiptConfig>;

type Verdict =
  | { kind: "ok" }
  | { kind: "young" }
  | {
    kind: "mismatch";
    problem: "reverted" | "missing" | "invalid_hash";
    receipt?: TransactionReceipt;
  };

/**
 * Rows marked completed (exchange requests and trades fills with a `tx_hash`) whose
 * transaction failed on chain (receipt status 0) or has no receipt once the grace
 * period is over. Rows are read incrementally from the change feed (a first run
 * backfills the configured window, page by page) into a queue kept in the
 * watermark; each run fetches a bounded number of receipts within a time budget.
 * A row too young to call "missing" stays queued and is checked again later; a row
 * that changes again replaces its queued entry. Every row is decided once.
 */
export const receiptMismatch = defineDetector({
  id: "receipt_mismatch",
  pack: "chain",
  eventType: "onchain_mismatch",
  severity: "CRITICAL",
  kind: "row",
  tier: "critical",
  // Its feeds are read per table at feed_batch_size, interleaved with backfill pages.
  readsOwnFeeds: true,
  description:
    "A request/fill marked completed whose transaction receipt failed (status 0) or is missing after grace_seconds",
  config: receiptConfig,
  async run(ctx) {
    const sources = await presentSources(ctx.sql);
    if (sources.length === 0) {
      return {
        rowsExamined: 0,
        findings: [],
        report: { skipped: "neither auto_exchange_requests nor trades_fills exists" },
      };
    }
    const state = parseReceiptWatermark(ctx.watermark);
    const read = state.queue.length < ctx.config.max_queue ? await intake(ctx, sources, state) : 0;
    const due = pickDue(state.queue, {
      now: ctx.now,
      graceSeconds: ctx.config.grace_seconds,
      recheckSeconds: ctx.config.recheck_seconds,
      limit: ctx.config.receipts_per_run,
    });
    const verdicts = due.length === 0
      ? new Map<QueuedRow, Verdict>()
      : await withChain(ctx, (chain) => checkReceipts(ctx, chain, due));

    const findings: Finding[] = [];
    const decided = new Set<QueuedRow>();
    let young = 0;
    for (const [row, verdict] of verdicts) {
      if (verdict.kind === "young") {
        row.checked_at = ctx.now.toISOString();
        young++;
        continue;
      }
      decided.add(row);
      if (verdict.kind === "mismatch") findings.push(toFinding(sources, row, verdict, ctx.config));
    }
    state.queue = state.queue.filter((row) => !decided.has(row));
    return {
      rowsExamined: read + verdicts.size,
      findings,
      watermark: state,
      report: {
        rows_read: read,
        receipts_checked: verdicts.size,
        awaiting_receipt: young,
        queued: state.queue.length,
        backfilling: Object.keys(state.backfill),
      },
    };
  },
});

/**
 * Reads new rows into the queue: a backfill page for a table on its first run,
 * else one batch of its change feed. Returns how many rows were read.
 */
async function intake(
  ctx: DetectorContext<ReceiptConfig>,
  sources: readonly ReceiptSource[],
  state: ReceiptWatermark,
): Promise<number> {
  const horizon = await (ctx.horizon?.() ?? snapshotHorizon(ctx.sql));
  const backfillHours = ctx.config.backfill_hours ?? ctx.runtime.get(cycleConfig).backfill_hours;
  let read = 0;
  for (const source of sources) {
    const { table } = source;
    if (!state.feeds[table]) {
      // First sight of this table: the feed starts here, older rows come from the backfill.
      state.feeds[table] = positionAt(horizon);
      if (backfillHours > 0) {
        const since = new Date(ctx.now.getTime() - backfillHours * 3_600_000);
        state.backfill[table] = { since: since.toISOString(), after: null };
      }
    }
    const backfill = state.backfill[table];
    if (backfill) {
      const page = await backfillPage(ctx.sql, source, {
        since: new Date(backfill.since),
        after: backfill.after,
        limit: ctx.config.backfill_page_size,
      });
      enqueue(state, table, page);
      read += page.length;
      const last = page.at(-1);
      if (!last || page.length < ctx.config.backfill_page_size) delete state.backfill[table];
      else backfill.after = { at: last.cursor_at, id: last.id };
      continue;
    }
    const from = state.feeds[table];
    const [feed] = await readFeeds(ctx.sql, {
      tables: [table],
      positions: { [table]: from },
      horizon,
      limit: ctx.config.feed_batch_size,
    });
    if (feed.changes > 0) {
      const rows = await changedRows(ctx.sql, source, feed);
      enqueue(state, table, rows);
      read += rows.length;
    }
    state.feeds[table] = feed.to;
  }
  return read;
}

/** Queues the rows that claim success; a row seen again replaces its older entry. */
function enqueue(state: ReceiptWatermark, table: string, rows: readonly SourceRow[]) {
  state.queue = dropQueued(state.queue, table, new Set(rows.map((row) => row.id)));
  for (const row of rows) {
    if (!row.claims_success || row.tx_hash === null) continue;
    state.queue.push({
      table,
      id: row.id,
      tx_hash: row.tx_hash.trim(),
      since: new Date(row.since).toISOString(),
      checked_at: null,
    });
  }
}

/**
 * Fetches the receipts of `rows`, `rpc_concurrency` at a time, and stops starting
 * new fetches once the time budget is spent (the rest stay queued).
 *
 * @throws {Error} when a call fails or times out: the run fails and nothing is lost.
 */
async function checkReceipts(
  ctx: DetectorContext<ReceiptConfig>,
  chain: ChainClient,
  rows: readonly QueuedRow[],
): Promise<Map<QueuedRow, Verdict>> {
  const verdicts = new Map<QueuedRow, Verdict>();
  const stopAt = performance.now() + ctx.config.time_budget_ms;
  let next = 0;
  const worker = async () => {
    while (next < rows.length && performance.now() < stopAt) {
      const row = rows[next++];
      verdicts.set(row, await verdictOf(ctx, chain, row));
    }
  };
  await Promise.all(Array.from({ length: ctx.config.rpc_concurrency }, worker));
  return verdicts;
}

async function verdictOf(
  ctx: DetectorContext<ReceiptConfig>,
  chain: ChainClient,
  row: QueuedRow,
): Promise<Verdict> {
  if (!TX_HASH.test(row.tx_hash)) return { kind: "mismatch", problem: "invalid_hash" };
  const receipt = await chain.call(
    `eth_getTransactionReceipt ${row.tx_hash}`,
    () => chain.provider.getTransactionReceipt(row.tx_hash),
  );
  if (receipt) {
    return receipt.status === 0
      ? { kind: "mismatch", problem: "reverted", receipt }
      : { kind: "ok" };
  }
  const waited = ctx.now.getTime() - Date.parse(row.since);
  return waited >= ctx.config.grace_seconds * 1000
    ? { kind: "mismatch", problem: "missing" }
    : { kind: "young" };
}

function toFinding(
  sources: readonly ReceiptSource[],
  row: QueuedRow,
  verdict: Extract<Verdict, { kind: "mismatch" }>,
  config: ReceiptConfig,
): Finding {
  const source = sources.find((candidate) => candidate.table === row.table);
  const label = source?.label ?? row.table;
  const what = {
    reverted: "reverted on chain (receipt status 0)",
    missing: "has no receipt on chain",
    invalid_hash: `hash '${row.tx_hash.slice(0, 80)}' is malformed`,
  }[verdict.problem];
  const receipt = verdict.receipt;
  return {
    fingerprint: `${row.table}:${row.id}:${row.tx_hash.toLowerCase()}`,
    title: `${label} ${row.id} is marked completed but its transaction ${what}`,
    occurredAt: row.since,
    transactionId: row.tx_hash,
    entityType: source?.entityType ?? row.table,
    entityId: row.id,
    context: {
      table: row.table,
      id: row.id,
      tx_hash: row.tx_hash,
      problem: verdict.problem,
      completed_since: row.since,
      grace_seconds: config.grace_seconds,
      ...(receipt
        ? {
          block_number: receipt.blockNumber,
          gas_used: receipt.gasUsed.toString(),
          from: receipt.from,
          to: receipt.to,
        }
        : {}),
    },
  };
}
