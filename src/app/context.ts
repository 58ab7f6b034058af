import type { Env } from "../config/env.ts";
import { databaseUrl, readEnv } from "../config/env.ts";
import type { Sql } from "../db/client.ts";
import { connect } from "../db/client.ts";
import type { Logger } from "../log/logger.ts";
import { createLogger } from "../log/logger.ts";
import type { PackDefinition } from "../detectors/types.ts";
import { PACKS } from "../detectors/registry.ts";
import type { CycleHooks } from "../cycle/run_cycle.ts";
import type { AdminVerifier } from "../http/auth.ts";
import { HttpError } from "../http/responses.ts";
import { createAlertHooks } from "../alerts/alert_hooks.ts";
import { adminVerifierFromEnv } from "../api/admin_jwt.ts";

/** Everything a function's handlers share within one isolate. */
export interface AppContext {
  env: Env;
  /** The raw environment, for packs that read their own variables. */
  rawEnv: Record<string, string | undefined>;
  log: Logger;
  packs: readonly PackDefinition[];
  hooks: CycleHooks;
  adminVerifier?: AdminVerifier;
  /** The pool, opened on first use; 503 when no database URL is configured. */
  sql(): Sql;
  close(): Promise<void>;
}

/** Options for {@linkcode createAppContext}; tests and the dev server pass their own. */
export interface AppContextOptions {
  env?: Record<string, string | undefined>;
  sql?: Sql;
  packs?: readonly PackDefinition[];
  hooks?: CycleHooks;
  log?: Logger;
  adminVerifier?: AdminVerifier;
}

/** Builds the per-isolate context: validated env, a lazily opened pool, the packs. */
export function createAppContext(options: AppContextOptions = {}): AppContext {
  const rawEnv = options.env ?? Deno.env.toObject();
  const env = readEnv(rawEnv);
  let pool = options.sql;
  const owned = !options.sql;
  const log = options.log ?? createLogger({ service: "monitoring" });
  const context: AppContext = {
    env,
    rawEnv,
    log,
    packs: options.packs ?? PACKS,
    // By default cycles write the alert outbox and deliver it (channels from env).
    hooks: options.hooks ?? createAlertHooks({ sql: () => context.sql(), env: rawEnv, log }),
    // Admin JWTs are verified when SUPABASE_JWKS, SUPABASE_URL or SUPABASE_JWT_SECRET is set.
    adminVerifier: options.adminVerifier ?? adminVerifierFromEnv(env),
    sql() {
      if (!pool) {
        const url = databaseUrl(env);
        if (!url) {
          throw new HttpError(
            503,
            "database_unconfigured",
            "No database configured: set SUPABASE_DB_URL or DATABASE_URL",
          );
        }
        pool = connect(url, { max: env.MONITORING_DB_POOL_MAX, connectTimeoutSeconds: 3 });
      }
      return pool;
    },
    async close() {
      if (pool && owned) await pool.end({ timeout: 1 });
    },
  };
  return context;
}
