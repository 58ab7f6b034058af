import { isDatabaseUnavailable } from "../db/client.ts";
import type { Logger } from "../log/logger.ts";
import { errorMessage } from "../log/logger.ts";
import { errorResponse, HttpError } from "./responses.ts";
import type { Router } from "./router.ts";
import { functionPath } from "./router.ts";

/**
 * Wraps a router as a fetch handler: routes by the function-relative path, turns
 * HttpErrors into the JSON error envelope, and any other error into a 500 or 503
 * that carries no stack trace (the details go to the log).
 */
export function routerHandler<C>(
  functionName: string,
  router: Router<C>,
  context: C & { log: Logger },
  before?: (request: Request, path: string) => Promise<Response | void> | Response | void,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const path = functionPath(url, functionName);
    try {
      const early = await before?.(request, path);
      if (early) return early;
      const { handler, params } = router.match(request.method, path);
      return await handler(request, params, context);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      const message = errorMessage(error);
      if (isDatabaseUnavailable(error)) {
        context.log.error("database unavailable", { path, error: message });
        return errorResponse(
          new HttpError(503, "database_unavailable", "Database unavailable; try again shortly"),
        );
      }
      context.log.error("request failed", { path, method: request.method, error: message });
      return errorResponse(
        new HttpError(500, "internal_error", "Internal error; see the function logs"),
      );
    }
  };
}
