import type { Sql } from "../../src/db/client.ts";
import { createAppContext } from "../../src/app/context.ts";
import type { AdminVerifier } from "../../src/http/auth.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createMonitoringApiHandler } from "../../src/functions/monitoring_api_handler.ts";
import type { MonitoringApiExtensions } from "../../src/functions/monitoring_api_handler.ts";
import { serveStatic } from "../../src/dev/static_files.ts";
import { TEST_SERVICE_KEY } from "./app.ts";

const DASHBOARD_DIR = new URL("../../dashboard/", import.meta.url);

/** `monitoring-api` served in-process on a loopback port. */
export interface ApiServer extends AsyncDisposable {
  /** The server's origin, e.g. `http://127.0.0.1:4321`. */
  origin: string;
  /** Base URL as the gateway routes it: `http://127.0.0.1:<port>/functions/v1/monitoring-api`. */
  url: string;
  /** GETs (or sends) `path` with the service role key unless `headers` say otherwise. */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** `call` that expects `status` and returns the parsed JSON body. */
  json<T = Record<string, unknown>>(path: string, status?: number, init?: RequestInit): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts `monitoring-api` over real HTTP against `sql`, with the test service key
 * and whatever extra env (JWT keys, dashboard origin) the test gives. Like the dev
 * server, it also serves the static dashboard at `/dashboard/`.
 */
export function startApiServer(
  sql: Sql,
  options: {
    env?: Record<string, string>;
    adminVerifier?: AdminVerifier;
    extensions?: MonitoringApiExtensions;
  } = {},
): ApiServer {
  const app = createAppContext({
    env: { SUPABASE_SERVICE_ROLE_KEY: TEST_SERVICE_KEY, ...options.env },
    sql,
    log: createLogger(),
    adminVerifier: options.adminVerifier,
  });
  const handler = createMonitoringApiHandler(app, options.extensions);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/dashboard/")) {
      return serveStatic(DASHBOARD_DIR, pathname.slice("/dashboard/".length));
    }
    return handler(request);
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const url = `${origin}/functions/v1/monitoring-api`;
  const call = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization") && !headers.has("apikey")) {
      headers.set("authorization", `Bearer ${TEST_SERVICE_KEY}`);
    }
    if (typeof init.body === "string") headers.set("content-type", "application/json");
    return fetch(`${url}${path}`, { ...init, headers });
  };
  const stop = () => server.shutdown();
  return {
    origin,
    url,
    call,
    async json<T>(path: string, status = 200, init?: RequestInit): Promise<T> {
      const response = await call(path, init);
      const text = await response.text();
      if (response.status !== status) {
        throw new Error(
          `${init?.method ?? "GET"} ${path}: expected ${status}, got ${response.status}: ${text}`,
        );
      }
      return JSON.parse(text) as T;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Inserts `count` synthetic events, one per second going back from `newest`; returns their ids. */
export async function insertEvents(
  sql: Sql,
  count: number,
  options: {
    newest?: Date;
    severity?: string;
    detector?: string;
    pack?: string;
    status?: string;
    title?: string;
    cardId?: string | null;
  } = {},
): Promise<number[]> {
  const rows = await sql<{ event_id: number }[]>`
    insert into monitoring_events (event_type, severity, status, detection_algorithm, pack, title,
      card_id, fingerprint, context, detection_timestamp, occurred_at,
      resolved_at)
    select 'test_event', ${options.severity ?? "HIGH"}, ${options.status ?? "OPEN"},
      ${options.detector ?? "test_detector"}, ${options.pack ?? "festival"},
      ${options.title ?? "Synthetic event"} || ' #' || i, ${options.cardId ?? null},
      'test:' || gen_random_uuid(), jsonb_build_object('i', i),
      ${options.newest ?? new Date()}::timestamptz - i * interval '1 second',
      ${options.newest ?? new Date()}::timestamptz - i * interval '1 second',
      case when ${options.status ?? "OPEN"} in ('RESOLVED', 'FALSE_POSITIVE') then now() end
    from generate_series(0, ${count - 1}) as i
    returning event_id`;
  return rows.map((row) => row.event_id);
}
