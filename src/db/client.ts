import postgres from "postgres";

/** A postgres.js connection pool (or the transaction handle passed to `sql.begin`). */
export type Sql = postgres.Sql;
/** What detectors and writers receive: either the pool or a transaction. */
export type Tx = postgres.Sql | postgres.TransactionSql;
/** A piece of SQL built by a tagged template, nested into another statement. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /** Pool size. Hosted functions use 1 per isolate behind the transaction pooler. */
  max?: number;
  /** Seconds to wait for a connection before failing (health checks need a bound). */
  connectTimeoutSeconds?: number;
  /** Application name shown in `pg_stat_activity`. */
  applicationName?: string;
  /** Called with the text of every statement sent (tests count round trips with it). */
  onStatement?: (text: string) => void;
}

/**
 * Opens a postgres.js pool with the settings every caller needs: no prepared
 * statements (so it works behind Supabase's transaction pooler), a bounded connect
 * time, and notices kept out of stdout.
 *
 * @example
 * ```ts
 * const sql = connect(Deno.env.get("DATABASE_URL")!, { max: 1 });
 * await sql`select 1`;
 * await sql.end();
 * ```
 */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? 4,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 30,
    onnotice: () => {},
    debug: options.onStatement && ((_connection, text) => options.onStatement!(text)),
    connection: { application_name: options.applicationName ?? "monitoring" },
    types: {
      // numeric and bigint arrive as strings by default; counts and amounts here fit in a double.
      numeric: {
        to: 1700,
        from: [1700, 20],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  });
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
]);

/**
 * Whether an error means the database cannot be reached (answer 503, or report it
 * down), rather than a query that failed on a reachable database.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  return error instanceof Error && /ECONNREFUSED|connect|Connection refused/i.test(error.message);
}
