import { timingSafeEqual } from "node:crypto";
import type { Env } from "../config/env.ts";
import { secretKeys } from "../config/env.ts";
import { HttpError } from "./responses.ts";

/** Who is calling. */
export type Principal =
  | { kind: "service"; via: "service_role" | "secret_key" }
  | { kind: "cron" }
  | { kind: "admin"; userId: string; email?: string };

/** Header pg_cron jobs send; never the service key (pg_net stores request headers). */
export const CRON_SECRET_HEADER = "x-monitoring-cron-secret";

/** Verifies an end-user JWT; returns an admin principal, or throws 401/403. */
export type AdminVerifier = (token: string) => Promise<Principal>;

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

/** Compares secrets in constant time (hashing first makes lengths equal). */
export async function secretEquals(given: string, expected: string): Promise<boolean> {
  return timingSafeEqual(await digest(given), await digest(expected));
}

async function matchesAny(given: string, candidates: string[]): Promise<boolean> {
  let match = false;
  for (const candidate of candidates) match = (await secretEquals(given, candidate)) || match;
  return match;
}

function bearer(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  return match?.[1];
}

/**
 * Authenticates a request: the service role key as a Bearer token, a secret key
 * (`sb_secret_...`) in `apikey`, the cron secret header when `allowCron`, or an
 * admin user's JWT when an `adminVerifier` is given. Anything else is 401.
 */
export async function authenticate(
  request: Request,
  env: Env,
  options: { allowCron?: boolean; adminVerifier?: AdminVerifier } = {},
): Promise<Principal> {
  const serviceKeys = env.SUPABASE_SERVICE_ROLE_KEY ? [env.SUPABASE_SERVICE_ROLE_KEY] : [];
  const token = bearer(request);
  const apikey = request.headers.get("apikey") ?? undefined;
  const secrets = secretKeys(env);

  if (token && (await matchesAny(token, serviceKeys))) {
    return { kind: "service", via: "service_role" };
  }
  if (apikey && (await matchesAny(apikey, secrets))) return { kind: "service", via: "secret_key" };
  // The legacy service role key is also accepted in `apikey`, as Supabase's gateway does.
  if (apikey && !token && (await matchesAny(apikey, serviceKeys))) {
    return { kind: "service", via: "service_role" };
  }
  const cronSecret = request.headers.get(CRON_SECRET_HEADER);
  if (options.allowCron && cronSecret && env.MONITORING_CRON_SECRET) {
    if (await secretEquals(cronSecret, env.MONITORING_CRON_SECRET)) return { kind: "cron" };
  }
  if (token && options.adminVerifier && token.split(".").length === 3) {
    return await options.adminVerifier(token);
  }
  throw new HttpError(
    401,
    "unauthorized",
    token || apikey || cronSecret
      ? "Invalid credentials"
      : "Missing credentials: send the service role key as 'Authorization: Bearer <key>' or a secret key in 'apikey'",
  );
}
