import { z } from "zod";
import { describeZodError } from "./runtime_config.ts";

const optionalText = z.string().trim().min(1).optional();

/** Environment the functions and scripts read. Unset secrets stay `undefined`, never `""`. */
export const envSchema = z.object({
  DATABASE_URL: optionalText,
  SUPABASE_DB_URL: optionalText,
  SUPABASE_URL: optionalText,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  /** New-style secret keys (`sb_secret_...`), comma-separated or a JSON object of name -> key. */
  SUPABASE_SECRET_KEYS: optionalText.refine(
    (raw) => raw === undefined || parseSecretKeys(raw) !== null,
    "Cannot parse SUPABASE_SECRET_KEYS: expected comma-separated keys or a JSON object of name -> key",
  ),
  /** Shared secret that pg_cron jobs send in the `x-monitoring-cron-secret` header. */
  MONITORING_CRON_SECRET: optionalText,
  /** The project's JWKS as JSON (`{"keys": [...]}`); else it is fetched from SUPABASE_URL. */
  SUPABASE_JWKS: optionalText,
  /** Legacy HS256 JWT secret, for projects that still sign user tokens with it. */
  SUPABASE_JWT_SECRET: optionalText,
  /** Origins allowed to call monitoring-api from a browser (comma-separated). */
  MONITORING_DASHBOARD_ORIGIN: optionalText,
  /** Pool size; hosted functions behind the transaction pooler should keep 1. */
  MONITORING_DB_POOL_MAX: z.coerce.number().int().min(1).max(50).default(1),
});

/** Parsed environment. */
export type Env = z.infer<typeof envSchema>;

/**
 * Reads and validates the process environment (empty strings count as unset).
 *
 * @throws {Error} naming each variable that fails, e.g. "Invalid environment:
 * MONITORING_DB_POOL_MAX: Too big: expected number to be <=50".
 */
export function readEnv(source: Record<string, string | undefined> = Deno.env.toObject()): Env {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) throw new Error(`Invalid environment: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/**
 * The database URL the functions use: `DATABASE_URL` when the operator set one,
 * else the `SUPABASE_DB_URL` Supabase injects. Hosted deployments set
 * `DATABASE_URL` to the transaction pooler (port 6543); the injected URL is a
 * direct connection, which every isolate would otherwise hold one of.
 */
export function databaseUrl(env: Env): string | undefined {
  return env.DATABASE_URL ?? env.SUPABASE_DB_URL;
}

/** Splits SUPABASE_SECRET_KEYS into keys; null when it is neither form. */
function parseSecretKeys(raw: string): string[] | null {
  if (!raw.startsWith("{")) {
    return raw.split(",").map((key) => key.trim()).filter((key) => key.length > 0);
  }
  try {
    const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(raw));
    return parsed.success ? Object.values(parsed.data).filter((key) => key.length > 0) : null;
  } catch {
    return null;
  }
}

/**
 * All secret API keys accepted in the `apikey` header. {@linkcode readEnv} already
 * refused a value that cannot be parsed, so a malformed one fails the function at
 * start rather than every request with a 500.
 */
export function secretKeys(env: Env): string[] {
  return env.SUPABASE_SECRET_KEYS ? parseSecretKeys(env.SUPABASE_SECRET_KEYS) ?? [] : [];
}
