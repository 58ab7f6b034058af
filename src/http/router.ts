import { HttpError } from "./responses.ts";

/** A matched route's handler, given the request and the path's named groups. */
export type RouteHandler<C> = (
  request: Request,
  params: Record<string, string>,
  context: C,
) => Promise<Response> | Response;

interface Route<C> {
  method: string;
  pattern: URLPattern;
  handler: RouteHandler<C>;
}

/**
 * A minimal method + path router over `URLPattern`. A path that matches with the
 * wrong method is 405 (with `allow`), an unknown path 404.
 */
export class Router<C> {
  #routes: Route<C>[] = [];

  on(method: string, pathname: string, handler: RouteHandler<C>): this {
    this.#routes.push({ method, pattern: new URLPattern({ pathname }), handler });
    return this;
  }

  /** Finds the handler for `pathname`, or throws the 404/405 to answer. */
  match(
    method: string,
    pathname: string,
  ): { handler: RouteHandler<C>; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const match = route.pattern.exec({ pathname });
      if (!match) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) {
        const params = Object.fromEntries(
          Object.entries(match.pathname.groups).filter((e): e is [string, string] =>
            e[1] !== undefined
          ),
        );
        return { handler: route.handler, params };
      }
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw new HttpError(
        405,
        "method_not_allowed",
        `Method ${method} not allowed on ${pathname}`,
        undefined,
        {
          allow: [...new Set(allowed)].join(", "),
        },
      );
    }
    throw new HttpError(404, "not_found", `No route for ${pathname}`);
  }
}

/**
 * The path as a function sees it, without Supabase's `/functions/v1` prefix or the
 * function's own name, so `/functions/v1/monitoring/health`, `/monitoring/health`
 * and `/health` all route to `/health`.
 */
export function functionPath(url: URL, functionName: string): string {
  let path = url.pathname.replace(/^\/functions\/v1(?=\/)/, "");
  if (path === `/${functionName}`) return "/";
  if (path.startsWith(`/${functionName}/`)) path = path.slice(functionName.length + 1);
  return path.replace(/\/+$/, "") || "/";
}
