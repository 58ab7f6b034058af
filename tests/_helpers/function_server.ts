/**
 * Serves an edge function exactly as its entry declares it: a `deno serve`
 * subprocess of `supabase/functions/<name>/index.ts` on a loopback port, with the
 * env Supabase would inject. Tests then talk to it over real HTTP.
 */
import { startReadyProcess } from "./ready_process.ts";

/** The functions this repository ships. */
export type FunctionName = "monitoring" | "monitoring-api";

/** Credentials a served function accepts, by how they are sent. */
export type Caller = "service_role" | "secret_key" | "cron" | "anonymous";

/** Keys the helper configures the function with. */
export const FUNCTION_KEYS = {
  serviceRole: "test-service-role-key",
  secretKey: "sb_secret_test_0123456789abcdef",
  cronSecret: "test-cron-secret",
} as const;

/** Options for {@linkcode startFunctionServer}. */
export interface FunctionServerOptions {
  /** The database the function connects to (`DATABASE_URL`). */
  databaseUrl: string;
  /** Extra env, e.g. `MONITORING_DB_POOL_MAX`; wins over the defaults. */
  env?: Record<string, string>;
  /** How long to wait for the first answer (default 30 s: a cold cache compiles). */
  readyTimeoutMs?: number;
}

/** A served function. */
export interface FunctionServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, for paths as Supabase's gateway sends them. */
  readonly origin: string;
  /** `http://127.0.0.1:<port>/<name>`: append a route such as `/health`. */
  readonly url: string;
  /**
   * Calls a route as `as` (default the service role). `body` objects are sent as
   * JSON; strings as they are.
   */
  request(
    path: string,
    init?: { method?: string; as?: Caller; body?: unknown; headers?: HeadersInit },
  ): Promise<Response>;
  /** Headers that authenticate as `caller`. */
  headersFor(caller: Caller): Record<string, string>;
  /** What the subprocess wrote so far (for failure messages). */
  output(): string;
  /** Terminates the subprocess and waits for it to exit. */
  stop(): Promise<void>;
}

const FUNCTIONS_DIR = new URL("../../supabase/functions/", import.meta.url);
const LISTENING = /Listening on (http:\/\/127\.0\.0\.1:\d+)\//;

/** Headers that authenticate as `caller` with {@linkcode FUNCTION_KEYS}. */
export function authHeaders(caller: Caller): Record<string, string> {
  switch (caller) {
    case "service_role":
      return { authorization: `Bearer ${FUNCTION_KEYS.serviceRole}` };
    case "secret_key":
      return { apikey: FUNCTION_KEYS.secretKey };
    case "cron":
      return { "x-monitoring-cron-secret": FUNCTION_KEYS.cronSecret };
    case "anonymous":
      return {};
  }
}

/**
 * Starts `deno serve -A --host 127.0.0.1 --port 0 supabase/functions/<name>/index.ts`
 * and resolves once it listens. The database URL goes in `DATABASE_URL` (an inherited
 * `SUPABASE_DB_URL` is blanked so it cannot win), logging is silenced.
 *
 * @example
 * ```ts
 * await using server = await startFunctionServer("monitoring", { databaseUrl: db.url });
 * const response = await server.request("/health");
 * ```
 */
export async function startFunctionServer(
  name: FunctionName,
  options: FunctionServerOptions,
): Promise<FunctionServer> {
  const entry = new URL(`${name}/index.ts`, FUNCTIONS_DIR);
  const served = await startReadyProcess({
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", entry.pathname],
    env: {
      DATABASE_URL: options.databaseUrl,
      SUPABASE_DB_URL: "",
      SUPABASE_SERVICE_ROLE_KEY: FUNCTION_KEYS.serviceRole,
      SUPABASE_SECRET_KEYS: FUNCTION_KEYS.secretKey,
      MONITORING_CRON_SECRET: FUNCTION_KEYS.cronSecret,
      LOG_LEVEL: "silent",
      ...options.env,
    },
    ready: LISTENING,
    timeoutMs: options.readyTimeoutMs ?? 30_000,
    // deno serve shuts down gracefully on SIGTERM, waiting for idle keep-alive
    // connections (fetch's pool keeps some open); nothing here needs the grace.
    graceMs: 1000,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await served.stop();
  };
  const base = served.ready;

  const url = `${base}/${name}`;
  return {
    origin: base,
    url,
    headersFor: authHeaders,
    output: served.output,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      for (const [key, value] of Object.entries(authHeaders(init.as ?? "service_role"))) {
        headers.set(key, value);
      }
      let body: string | undefined;
      if (typeof init.body === "string") body = init.body;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers.set("content-type", "application/json");
      }
      return await fetch(`${url}${path}`, { method: init.method ?? "GET", headers, body });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
