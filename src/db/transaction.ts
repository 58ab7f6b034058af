import type { Fragment, Sql, Tx } from "./client.ts";

/** Hands `transaction()` a statement to send with COMMIT instead of before it. */
export type WithCommit = (statement: Fragment) => void;

/**
 * Runs `fn` in a transaction on a connection of its own, like `sql.begin()` but
 * without waiting on either end: BEGIN goes out together with `fn`'s first
 * statement, and a statement `fn` hands to `withCommit` goes out together with
 * COMMIT (postgres.js pipelines what is sent on a connection while a statement is
 * in flight). The cycle runner saves two round trips per detector run with it.
 * Rolled back when `fn` or the final statement fails (a COMMIT behind a failed
 * statement only ends the aborted transaction); the connection goes back to the
 * pool either way.
 */
export async function transaction<T>(
  sql: Sql,
  fn: (tx: Tx, withCommit: WithCommit) => Promise<T>,
): Promise<T> {
  const tx = await sql.reserve();
  try {
    const begun = tx`begin`.execute();
    // Awaited below; a failed BEGIN also fails the statement behind it.
    begun.catch(() => {});
    let final: Fragment | null = null;
    try {
      const result = await fn(tx, (statement) => {
        final = statement;
      });
      await begun;
      const last = (final as Fragment | null)?.execute();
      last?.catch(() => {});
      await tx`commit`;
      await last;
      return result;
    } catch (error) {
      await tx`rollback`.catch(() => {});
      throw error;
    }
  } finally {
    tx.release();
  }
}
