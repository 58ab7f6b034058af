import type { AppContext } from "../app/context.ts";
import { authenticate } from "../http/auth.ts";
import { json } from "../http/responses.ts";
import { Router } from "../http/router.ts";
import { routerHandler } from "../http/serve.ts";
import { checkHealth } from "../health/health_check.ts";

/**
 * The `monitoring-api` function the admin dashboard calls. Every route needs
 * credentials: the service role key, a secret key, or an admin user's JWT.
 */
export function createMonitoringApiHandler(
  app: AppContext,
): (request: Request) => Promise<Response> {
  const router = new Router<AppContext>()
    .on("GET", "/health", async () => {
      const report = await checkHealth(() => app.sql());
      return json(report, report.status === "unhealthy" ? 503 : 200);
    });
  return routerHandler("monitoring-api", router, app, async (request) => {
    await authenticate(request, app.env, { adminVerifier: app.adminVerifier });
  });
}
