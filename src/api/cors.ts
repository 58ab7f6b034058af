import type { Env } from "../config/env.ts";

const ALLOWED_HEADERS = "authorization, apikey, content-type, x-client-info";
const ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS";

/** The origins `MONITORING_DASHBOARD_ORIGIN` allows (comma-separated; `*` for any). */
export function dashboardOrigins(env: Env): string[] {
  return (env.MONITORING_DASHBOARD_ORIGIN ?? "").split(",").map((o) => o.trim().replace(/\/$/, ""))
    .filter((o) => o.length > 0);
}

function allowedOrigin(request: Request, origins: readonly string[]): string | undefined {
  const origin = request.headers.get("origin");
  if (!origin) return undefined;
  if (origins.includes("*")) return "*";
  return origins.includes(origin) ? origin : undefined;
}

/**
 * Wraps a handler with CORS for the dashboard's origins: preflight `OPTIONS` is
 * answered here, before authentication (browsers send no credentials with it),
 * and responses to allowed origins carry `access-control-allow-origin`. Other
 * origins get no CORS headers, so browsers refuse them.
 */
export function withCors(
  origins: readonly string[],
  handler: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const origin = allowedOrigin(request, origins);
    if (request.method === "OPTIONS") {
      const headers = new Headers({ vary: "origin" });
      if (origin) {
        headers.set("access-control-allow-origin", origin);
        headers.set("access-control-allow-methods", ALLOWED_METHODS);
        headers.set("access-control-allow-headers", ALLOWED_HEADERS);
        headers.set("access-control-max-age", "600");
      }
      return new Response(null, { status: 204, headers });
    }
    const response = await handler(request);
    if (!origin) return response;
    const headers = new Headers(response.headers);
    headers.set("access-control-allow-origin", origin);
    headers.append("vary", "origin");
    return new Response(response.body, { status: response.status, headers });
  };
}
