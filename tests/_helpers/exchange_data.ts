import type { Sql } from "../../src/db/client.ts";

/** An `auto_exchange_requests` row; omitted fields get plausible values. */
export interface RequestInput {
  status: "pending" | "processing" | "completed" | "failed" | "fallback";
  at: Date;
  user?: string;
}

/** Inserts exchange requests in one statement. */
export async function insertRequests(sql: Sql, rows: RequestInput[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into auto_exchange_requests ${
    sql(
      rows.map((row) => ({
        user_id: row.user ?? crypto.randomUUID(),
        diamond_amount: 100,
        wld_target: 1.5,
        wld_received: row.status === "completed" ? 1.5 : null,
        status: row.status,
        created_at: row.at,
        updated_at: row.at,
      })),
      "user_id",
      "diamond_amount",
      "wld_target",
      "wld_received",
      "status",
      "created_at",
      "updated_at",
    )
  }`;
}

/** An `api_metrics` row. */
export interface ApiCallInput {
  endpoint: string;
  status: number;
  ms?: number;
  at: Date;
}

/** Inserts API metrics in one statement. */
export async function insertApiCalls(sql: Sql, rows: ApiCallInput[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into api_metrics ${
    sql(
      rows.map((row) => ({
        endpoint: row.endpoint,
        method: "POST",
        status_code: row.status,
        response_time_ms: row.ms ?? 120,
        created_at: row.at,
      })),
      "endpoint",
      "method",
      "status_code",
      "response_time_ms",
      "created_at",
    )
  }`;
}

/** An `exchange_audit_log` row. */
export interface AuditInput {
  action: string;
  status: "success" | "error";
  at: Date;
  details?: Record<string, unknown>;
}

/** Inserts audit rows in one statement. */
export async function insertAudit(sql: Sql, rows: AuditInput[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`insert into exchange_audit_log ${
    sql(
      rows.map((row) => ({
        user_id: crypto.randomUUID(),
        request_id: crypto.randomUUID(),
        action: row.action,
        status: row.status,
        details: sql.json((row.details ?? {}) as never),
        timestamp: row.at,
        created_at: row.at,
      })),
      "user_id",
      "request_id",
      "action",
      "status",
      "details",
      "timestamp",
      "created_at",
    )
  }`;
}
