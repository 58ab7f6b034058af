import { z } from "zod";

const position = z.object({ xid: z.string(), id: z.string() });

/** A row that claims success and waits for its receipt to be checked. */
export const queuedRowSchema = z.object({
  table: z.string(),
  id: z.string(),
  tx_hash: z.string(),
  /** ISO time the grace period counts from. */
  since: z.string(),
  /** ISO time of the last check that found no receipt yet, if any. */
  checked_at: z.string().nullable().default(null),
});
export type QueuedRow = z.infer<typeof queuedRowSchema>;

/**
 * `receipt_mismatch`'s watermark: the change feed positions, first-run backfill
 * cursors, and the queue of rows not yet decided (unchecked, or too young to call
 * a missing receipt). The queue is why a young row is re-checked later and never
 * forgotten, although the feed has moved past it.
 */
export const receiptWatermarkSchema = z.object({
  feeds: z.record(z.string(), position).default({}),
  backfill: z.record(
    z.string(),
    z.object({
      since: z.string(),
      after: z.object({ at: z.string(), id: z.string() }).nullable(),
    }),
  ).default({}),
  queue: z.array(queuedRowSchema).default([]),
});
export type ReceiptWatermark = z.infer<typeof receiptWatermarkSchema>;

/** The stored watermark, or an empty one (first run, or a shape from an older version). */
export function parseReceiptWatermark(stored: Record<string, unknown> | null): ReceiptWatermark {
  const parsed = receiptWatermarkSchema.safeParse(stored ?? {});
  return parsed.success ? parsed.data : receiptWatermarkSchema.parse({});
}

/** Replaces every queued entry of `table`'s row `id` (a row that changed again). */
export function dropQueued(queue: QueuedRow[], table: string, ids: ReadonlySet<string>) {
  return queue.filter((row) => row.table !== table || !ids.has(row.id));
}

/**
 * The entries to check this run, at most `limit`: never-checked rows first, then
 * rows whose grace has run out, then young rows not re-checked for `recheckSeconds`.
 */
export function pickDue(
  queue: readonly QueuedRow[],
  options: { now: Date; graceSeconds: number; recheckSeconds: number; limit: number },
): QueuedRow[] {
  const now = options.now.getTime();
  const rank = (row: QueuedRow) => {
    if (row.checked_at === null) return 0;
    if (now - Date.parse(row.since) >= options.graceSeconds * 1000) return 1;
    if (now - Date.parse(row.checked_at) >= options.recheckSeconds * 1000) return 2;
    return null;
  };
  return queue
    .map((row) => ({ row, rank: rank(row) }))
    .filter((entry): entry is { row: QueuedRow; rank: number } => entry.rank !== null)
    .sort((a, b) => a.rank - b.rank || Date.parse(a.row.since) - Date.parse(b.row.since))
    .slice(0, options.limit)
    .map((entry) => entry.row);
}
