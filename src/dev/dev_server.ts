import type { Sql } from "../db/client.ts";
import { connect } from "../db/client.ts";
import { databaseFromEnv } from "../db/embedded.ts";
import type { EmbeddedDatabase } from "../db/embedded.ts";
import { migrate } from "../db/migrate.ts";
import { createLogger } from "../log/logger.ts";
import type { Logger } from "../log/logger.ts";
import { createAppContext } from "../app/context.ts";
import type { AppContext, AppContextOptions } from "../app/context.ts";
import { createMonitoringHandler } from "../functions/monitoring_handler.ts";
import { createMonitoringApiHandler } from "../functions/monitoring_api_handler.ts";
import { seedRuntimeConfig } from "../config/runtime_config.ts";
import { allConfigSpecs } from "../config/all_specs.ts";
import { setupPacks } from "../detectors/pack_setup.ts";
import type { PackSetupReport } from "../detectors/pack_setup.ts";
import { loadRuntimeConfig } from "../config/runtime_config.ts";
import { tierConfig } from "../config/core_config.ts";
import { startTierScheduler } from "../schedule/tier_scheduler.ts";
import type { TierScheduler } from "../schedule/tier_scheduler.ts";
import { runCycle } from "../cycle/run_cycle.ts";
import { serveStatic } from "./static_files.ts";

/** The dev service role key used when SUPABASE_SERVICE_ROLE_KEY is unset (documented in the README). */
export const DEV_SERVICE_ROLE_KEY = "dev-service-role-key";

/** Options for {@linkcode startDevServer}. */
export interface DevServerOptions {
  port?: number;
  /** Run the tiers on their intervals in-process (default: unless MONITORING_SCHEDULE=off). */
  schedule?: boolean;
  /** Called with the database before serving, e.g. to create demo tables. */
  prepare?: (sql: Sql, url: string) => Promise<void>;
  log?: Logger;
  app?: Omit<AppContextOptions, "env" | "sql" | "log">;
}

/** A running dev server. */
export interface DevServer {
  url: string;
  functionsUrl: string;
  serviceKey: string;
  databaseUrl: string;
  sql: Sql;
  setup: PackSetupReport[];
  app: AppContext;
  /** Starts the tier scheduler if it is not running (the demo starts it after its scripted cycles). */
  startScheduler(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts what `deno task dev` serves: a database (DATABASE_URL or an embedded one),
 * migrations, seeded config, pack setup (capture and indexes, concurrently), both
 * functions routed as Supabase's gateway routes them, the dashboard, and the tier
 * scheduler. It never creates the monitored tables: it monitors what is there.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = options.log ?? createLogger({ service: "monitoring-dev" });
  const db: EmbeddedDatabase = await databaseFromEnv();
  const sql = connect(db.url, { max: 8, applicationName: "monitoring-dev" });
  try {
    const migrated = await migrate(sql);
    log.info("migrations", { applied: migrated.applied, already_applied: migrated.alreadyApplied });
    await options.prepare?.(sql, db.url);
    const env = { ...Deno.env.toObject() };
    env.SUPABASE_SERVICE_ROLE_KEY ??= DEV_SERVICE_ROLE_KEY;
    env.DATABASE_URL = db.url;
    const app = createAppContext({ ...options.app, env, sql, log });
    await seedRuntimeConfig(sql, allConfigSpecs(app.packs));
    const setup = await setupPacks(sql, app.packs);
    for (const report of setup) log.info("pack setup", { ...report });

    const monitoring = createMonitoringHandler(app);
    const monitoringApi = createMonitoringApiHandler(app);
    const dashboardDir = new URL("../../dashboard/", import.meta.url);
    const handler = (request: Request): Promise<Response> | Response => {
      const { pathname } = new URL(request.url);
      if (pathname.startsWith("/functions/v1/monitoring-api")) return monitoringApi(request);
      if (pathname.startsWith("/functions/v1/monitoring")) return monitoring(request);
      if (pathname === "/dashboard") {
        return Response.redirect(new URL("/dashboard/", request.url), 301);
      }
      if (pathname.startsWith("/dashboard/")) {
        return serveStatic(dashboardDir, pathname.slice("/dashboard/".length));
      }
      return new Response(
        JSON.stringify({ error: { code: "not_found", message: `No route for ${pathname}` } }),
        {
          status: 404,
          headers: { "content-type": "application/json" },
        },
      );
    };
    const port = options.port ?? Number(Deno.env.get("PORT") ?? 54321);
    const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
    const url = `http://127.0.0.1:${server.addr.port}`;

    let scheduler: TierScheduler | undefined;
    const startScheduler = (): Promise<void> => {
      if (scheduler) return Promise.resolve();
      scheduler = startTierScheduler({
        // Re-read every round, so an UPDATE of the `tiers` row takes effect without a restart.
        intervals: async () => (await loadRuntimeConfig(sql, [tierConfig])).get(tierConfig),
        log,
        runTier: (tier) =>
          runCycle({
            sql,
            packs: app.packs,
            log,
            env: app.rawEnv,
            hooks: app.hooks,
            trigger: "scheduler",
          }, {
            tier,
          }),
      });
      return Promise.resolve();
    };
    if (options.schedule ?? Deno.env.get("MONITORING_SCHEDULE") !== "off") await startScheduler();
    return {
      url,
      functionsUrl: `${url}/functions/v1`,
      serviceKey: env.SUPABASE_SERVICE_ROLE_KEY,
      databaseUrl: db.url,
      sql,
      setup,
      app,
      startScheduler,
      async stop() {
        await scheduler?.stop();
        await server.shutdown();
        await sql.end({ timeout: 2 });
        await db.stop();
      },
    };
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {});
    await db.stop();
    throw error;
  }
}
