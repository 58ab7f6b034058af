import { z } from "zod";

const optionalText = z.string().trim().min(1).optional();

/** Environment the functions and scripts read. Unset secrets stay `undefined`, never `""`. */
export const envSchema = z.object({
  DATABASE_URL: optionalText,
  SUPABASE_DB_URL: optionalText,
  SUPABASE_URL: optionalText,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  /** New-style secret keys (`sb_secret_...`), comma-separated or a JSON object of name -> key. */
  SUPABASE_SECRET_KEYS: optionalText,
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

/** Reads and validates the process environment (empty strings count as unset). */
export function readEnv(source: Record<string, string | undefined> = Deno.env.toObject()): Env {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  return envSchema.parse(cleaned);
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

/** All secret API keys accepted in the `apikey` header. */
export function secretKeys(env: Env): string[] {
  const raw = env.SUPABASE_SECRET_KEYS;
  if (!raw) return [];
  if (raw.startsWith("{")) {
    try {
      const parsed = z.record(z.string(), z.string()).parse(JSON.parse(raw));
      return Object.values(parsed).filter((key) => key.length > 0);
    } catch {
      throw new Error("Cannot parse SUPABASE_SECRET_KEYS: expected a JSON object of name -> key");
    }
  }
  return raw.split(",").map((key) => key.trim()).filter((key) => key.length > 0);
}
