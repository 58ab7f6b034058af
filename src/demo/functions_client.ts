/** A response from a function: HTTP status and parsed JSON body. */
export interface FunctionResponse<T = unknown> {
  status: number;
  body: T;
  ms: number;
}

/** Calls the served functions as an operator's curl would: service key as Bearer. */
export interface FunctionsClient {
  call<T = unknown>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<FunctionResponse<T>>;
}

/**
 * A client for `${functionsUrl}/<function>/<route>` (e.g. `monitoring/cycle`).
 *
 * @param functionsUrl the gateway's `/functions/v1` URL
 * @param serviceKey sent as `Authorization: Bearer <key>`
 */
export function functionsClient(functionsUrl: string, serviceKey: string): FunctionsClient {
  return {
    async call<T>(method: "GET" | "POST", path: string, body?: unknown) {
      const started = performance.now();
      const response = await fetch(`${functionsUrl}/${path}`, {
        method,
        headers: {
          authorization: `Bearer ${serviceKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const parsed = await response.json() as T;
      return { status: response.status, body: parsed, ms: Math.round(performance.now() - started) };
    },
  };
}
