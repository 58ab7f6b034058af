import type { Sql } from "../../src/db/client.ts";

/** A `trades_orders` row. */
export interface OrderInput {
  maker: string;
  risk: number;
  at: Date;
  value?: number;
}

/** Inserts orders in one statement. */
export async function insertOrders(sql: Sql, rows: OrderInput[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into trades_orders ${
    sql(
      rows.map((row) => ({
        maker_address: row.maker,
        status: "open",
        risk_score: row.risk,
        value_usd: row.value ?? 250,
        created_at: row.at,
        expires_at: new Date(row.at.getTime() + 86_400_000),
      })),
      "maker_address",
      "status",
      "risk_score",
      "value_usd",
      "created_at",
      "expires_at",
    )
  }`;
}

/** Inserts fills with the given statuses, in one statement. */
export async function insertFills(
  sql: Sql,
  rows: { status: "pending" | "completed" | "failed"; at: Date }[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into trades_fills ${
    sql(
      rows.map((row) => ({
        order_id: crypto.randomUUID(),
        taker_address: "0xtaker",
        status: row.status,
        created_at: row.at,
      })),
      "order_id",
      "taker_address",
      "status",
      "created_at",
    )
  }`;
}

/** Sets a `trades_config` key. */
export async function setTradesConfig(sql: Sql, key: string, value: string): Promise<void> {
  await sql`
    insert into trades_config (key, value, updated_at) values (${key}, ${value}, now())
    on conflict (key) do update set value = excluded.value, updated_at = now()`;
}
