import type { AppContext } from "../app/context.ts";
import { authenticate } from "../http/auth.ts";
import type { Principal } from "../http/auth.ts";
import { HttpError, json, readJsonBody, readQuery } from "../http/responses.ts";
import { Router } from "../http/router.ts";
import { routerHandler } from "../http/serve.ts";
import { checkHealth } from "../health/health_check.ts";
import { eventsQuerySchema, getEventDetail, listEvents, parseEventId } from "../api/events.ts";
import { changeEventStatus, statusChangeBodySchema } from "../api/event_status.ts";
import type { StatusChangeHook } from "../api/event_status.ts";
import { listSnapshots, snapshotsQuerySchema } from "../api/snapshots.ts";
import { computeStats, statsQuerySchema } from "../api/stats.ts";
import { alertsQuerySchema, listAlerts } from "../api/alerts.ts";
import { renderMetrics } from "../api/metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../api/metrics_writer.ts";
import { openApiDocument } from "../api/openapi.ts";
import { dashboardOrigins, withCors } from "../api/cors.ts";
import {
  parseSilenceId,
  silenceBodySchema,
  silenceCreate,
  silenceExpire,
  silencesList,
  silencesQuerySchema,
} from "../api/silences.ts";
import { enqueueStatusChange } from "../alerts/mod.ts";
import { singleFlight } from "../api/single_flight.ts";

/** Extra parts of `monitoring-api` other stages contribute. */
export interface MonitoringApiExtensions {
  /**
   * Runs in a status change's transaction. Default: the alert pipeline's
   * `enqueueStatusChange` (acknowledge/resolve notifications commit with the change).
   */
  onStatusChange?: StatusChangeHook;
}

/**
 * The `monitoring-api` function the admin dashboard calls. Every route needs
 * credentials: the service role key, a secret key, or an admin user's JWT.
 * Preflight requests from the dashboard's origin are answered before auth.
 */
export function createMonitoringApiHandler(
  app: AppContext,
  extensions: MonitoringApiExtensions = {},
): (request: Request) => Promise<Response> {
  const principals = new WeakMap<Request, Principal>();
  const principalOf = (request: Request): Principal => {
    const principal = principals.get(request);
    if (!principal) throw new HttpError(401, "unauthorized", "Missing credentials");
    return principal;
  };
  const onStatusChange: StatusChangeHook = extensions.onStatusChange ??
    (async (tx, change) => {
      await enqueueStatusChange(tx, change.event, change.previousStatus, change.actor, {
        env: app.rawEnv,
      });
    });
  const health = singleFlight(() => checkHealth(() => app.sql()));
  const router = new Router<AppContext>()
    .on("GET", "/health", async () => {
      const report = await health();
      return json(report, report.status === "unhealthy" ? 503 : 200);
    })
    .on("GET", "/events", async (request) => {
      const query = readQuery(new URL(request.url), eventsQuerySchema);
      return json(await listEvents(app.sql(), query));
    })
    .on("GET", "/events/:id", async (_request, params) => {
      return json(await getEventDetail(app.sql(), parseEventId(params.id)));
    })
    .on("PATCH", "/events/:id", async (request, params) => {
      const eventId = parseEventId(params.id);
      const body = await readJsonBody(request, statusChangeBodySchema);
      const event = await changeEventStatus(app.sql(), {
        eventId,
        body,
        principal: principalOf(request),
        onStatusChange,
      });
      app.log.info("event status changed", { event_id: event.event_id, status: event.status });
      return json({ event });
    })
    .on("GET", "/snapshots", async (request) => {
      return json(
        await listSnapshots(app.sql(), readQuery(new URL(request.url), snapshotsQuerySchema)),
      );
    })
    .on("GET", "/stats", async (request) => {
      return json(await computeStats(app.sql(), readQuery(new URL(request.url), statsQuerySchema)));
    })
    .on("GET", "/alerts", async (request) => {
      return json(await listAlerts(app.sql(), readQuery(new URL(request.url), alertsQuerySchema)));
    })
    .on("GET", "/silences", async (request) => {
      return json(
        await silencesList(app.sql(), readQuery(new URL(request.url), silencesQuerySchema)),
      );
    })
    .on("POST", "/silences", async (request) => {
      const body = await readJsonBody(request, silenceBodySchema);
      return json(await silenceCreate(app.sql(), body, principalOf(request)), 201);
    })
    .on("DELETE", "/silences/:id", async (_request, params) => {
      return json(await silenceExpire(app.sql(), parseSilenceId(params.id)));
    })
    .on("GET", "/metrics", async () => {
      return new Response(await renderMetrics(app.sql()), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    })
    .on("GET", "/openapi.json", () => json(openApiDocument()));

  const handler = routerHandler("monitoring-api", router, app, async (request) => {
    principals.set(
      request,
      await authenticate(request, app.env, { adminVerifier: app.adminVerifier }),
    );
  });
  return withCors(dashboardOrigins(app.env), handler);
}
