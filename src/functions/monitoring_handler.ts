import { z } from "zod";
import type { AppContext } from "../app/context.ts";
import { authenticate } from "../http/auth.ts";
import { badRequest, HttpError, json, readJsonBody } from "../http/responses.ts";
import { Router } from "../http/router.ts";
import { routerHandler } from "../http/serve.ts";
import { checkHealth } from "../health/health_check.ts";
import { statusReport } from "../status/status_report.ts";
import type { StatusSection } from "../status/status_report.ts";
import { runCycle } from "../cycle/run_cycle.ts";
import { cycleRequestSchema, PlanError } from "../cycle/cycle_plan.ts";
import { resetBreakers } from "../breaker/circuit_breaker.ts";
import { channelStatusSection } from "../alerts/channel_status.ts";
import { deliverDueAlerts } from "../alerts/outbox/sender.ts";

const resetSchema = z.object({ name: z.string().min(1).max(200).optional() }).strict();

/** Extra parts of the monitoring function other stages contribute. */
export interface MonitoringExtensions {
  statusSections?: StatusSection[];
}

/**
 * The `monitoring` function: `/health`, `/status`, `/cycle`,
 * `/circuit-breaker/reset`. Every route needs credentials; pg_cron's secret header
 * may only start cycles.
 */
export function createMonitoringHandler(
  app: AppContext,
  extensions: MonitoringExtensions = {},
): (request: Request) => Promise<Response> {
  const router = new Router<AppContext>()
    .on("GET", "/health", async () => {
      const report = await checkHealth(() => app.sql());
      return json(report, report.status === "unhealthy" ? 503 : 200);
    })
    .on("GET", "/status", async () => {
      const sections = [channelStatusSection(app.rawEnv), ...(extensions.statusSections ?? [])];
      return json(await statusReport(app.sql(), app.packs, app.rawEnv, sections));
    })
    .on("POST", "/cycle", async (request) => {
      const body = await readJsonBody(request, cycleRequestSchema);
      try {
        const outcome = await runCycle({
          sql: app.sql(),
          packs: app.packs,
          log: app.log,
          env: app.rawEnv,
          hooks: app.hooks,
          trigger: request.headers.get("x-monitoring-trigger") ?? "http",
        }, body);
        if (outcome.kind === "busy") {
          throw new HttpError(
            409,
            "cycle_running",
            `Tier '${outcome.heldBy.tier}' is already running`,
            {
              held_by: outcome.heldBy,
            },
          );
        }
        if (outcome.kind === "breaker_open") {
          throw new HttpError(
            503,
            "breaker_open",
            "Cycle circuit breaker is open; POST /monitoring/circuit-breaker/reset to close it",
            { retry_at: outcome.retryAt?.toISOString() ?? null },
            outcome.retryAt
              ? {
                "retry-after": String(
                  Math.max(1, Math.ceil((outcome.retryAt.getTime() - Date.now()) / 1000)),
                ),
              }
              : undefined,
          );
        }
        return json(outcome.summary, outcome.summary.status === "failed" ? 500 : 200);
      } catch (error) {
        if (error instanceof PlanError) throw badRequest(error.field, error.message);
        throw error;
      }
    })
    .on("POST", "/circuit-breaker/reset", async (request) => {
      const body = await readJsonBody(request, resetSchema);
      const names = await resetBreakers(app.sql(), body.name);
      if (body.name && names.length === 0) {
        throw new HttpError(404, "not_found", `No circuit breaker named '${body.name}'`);
      }
      app.log.info("circuit breakers reset", { names });
      return json({ reset: names });
    })
    // The alert sender on its own schedule (cycles also deliver after they commit).
    .on("POST", "/alerts/deliver", async () => {
      return json(await deliverDueAlerts(app.sql(), { env: app.rawEnv, log: app.log }));
    });

  return routerHandler("monitoring", router, app, async (request, path) => {
    const principal = await authenticate(request, app.env, {
      allowCron: true,
      adminVerifier: app.adminVerifier,
    });
    const cronPaths = ["/cycle", "/alerts/deliver"];
    if (principal.kind === "cron" && !(request.method === "POST" && cronPaths.includes(path))) {
      throw new HttpError(403, "forbidden", "The cron secret may only start cycles and deliveries");
    }
    if (principal.kind === "admin" && path !== "/health" && path !== "/status") {
      throw new HttpError(403, "forbidden", "Admin users may read health and status only");
    }
  });
}
