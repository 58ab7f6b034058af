import assert from "node:assert/strict";
import { createTestDatabase } from "./_helpers/database.ts";
import { statusReport } from "../src/status/status_report.ts";
import type { HorizonHolder } from "../src/status/status_report.ts";
import { PACKS } from "../src/detectors/registry.ts";

Deno.test("statusReport() names the transaction of this database that holds the change feed's horizon back", async () => {
  const db = await createTestDatabase();
  const writer = await db.sql.reserve();
  try {
    await writer`begin`;
    const [{ pid }] = await writer<{ pid: number }[]>`
      select pg_backend_pid() as pid, pg_current_xact_id()`;
    // Only this database's sessions count; poll in case one of them was older.
    let holder: HorizonHolder | null = null;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      holder = (await statusReport(db.sql, PACKS, {})).change_feed.horizon_held_by;
      if (holder?.pid === pid) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(holder?.pid, pid);
    assert.equal(holder?.database, db.name);
    assert.equal(holder?.state, "idle in transaction");
    assert.equal(typeof holder?.transaction_seconds, "number");

    await writer`commit`;
    const after = (await statusReport(db.sql, PACKS, {})).change_feed.horizon_held_by;
    assert.notEqual(after?.pid, pid);
  } finally {
    writer.release();
    await db.drop();
  }
});
