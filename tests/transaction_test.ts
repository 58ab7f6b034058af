import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { transaction } from "../src/db/transaction.ts";

Deno.test("transaction() commits the statements and the one sent with COMMIT together", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    await db.sql`create table t (n int not null)`;
    const result = await transaction(db.sql, async (tx, withCommit) => {
      // The first statement went out behind BEGIN: a setting local to the
      // transaction is still there for the next one.
      await tx`select set_config('application_name', 'in-transaction', true)`;
      const [{ setting }] = await tx`select current_setting('application_name') as setting`;
      await tx`insert into t values (1)`;
      withCommit(tx`insert into t values (2)`);
      return setting;
    });
    assert.equal(result, "in-transaction");
    const rows = await db.sql`select n from t order by n`;
    assert.deepEqual(rows.map((row) => row.n), [1, 2]);
  } finally {
    await db.drop();
  }
});

Deno.test("transaction() rolls everything back when the body or the statement sent with COMMIT fails", async () => {
  const db = await createTestDatabase({ empty: true });
  try {
    await db.sql`create table t (n int not null)`;
    await assert.rejects(
      transaction(db.sql, async (tx) => {
        await tx`insert into t values (1)`;
        throw new Error("detector failed");
      }),
      /detector failed/,
    );
    await assert.rejects(
      transaction(db.sql, async (tx, withCommit) => {
        await tx`insert into t values (1)`;
        withCommit(tx`insert into t values (null)`);
      }),
      /null value/,
    );
    const [{ count }] = await db.sql`select count(*)::int as count from t`;
    assert.equal(count, 0);
    // The connections went back to the pool usable.
    await transaction(db.sql, async (tx) => await tx`insert into t values (3)`);
    assert.equal((await db.sql`select count(*)::int as count from t`)[0].count, 1);
  } finally {
    await db.drop();
  }
});
