import { createClient, FunctionsFetchError, FunctionsHttpError } from "@supabase/supabase-js";
import { z } from "zod";

const keyMissing = "SUPABASE_SERVICE_ROLE_KEY (or a secret key, sb_secret_...) must be set";

/** What scripts need to reach the functions: a project URL and a key. */
export const functionsEnvSchema = z.object({
  SUPABASE_URL: z.url({ message: "SUPABASE_URL must be a URL, e.g. https://<ref>.supabase.co" }),
  SUPABASE_SERVICE_ROLE_KEY: z.string({ message: keyMissing }).trim().min(1, {
    message: keyMissing,
  }),
});

/** An answer from a function: its status and parsed JSON body (or text). */
export interface FunctionAnswer<T = unknown> {
  status: number;
  ok: boolean;
  body: T;
}

/** A function could not be reached at all (DNS, refused, timeout). */
export class UnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "UnreachableError";
  }
}

/** Calls `<function>/<path>` and returns every HTTP answer, success or not. */
export type FunctionsCaller = <T = unknown>(
  path: string,
  options?: {
    method?: "GET" | "POST" | "PATCH" | "DELETE";
    body?: Record<string, unknown>;
    query?: Record<string, string | number | undefined>;
    headers?: Record<string, string>;
    timeoutMs?: number;
  },
) => Promise<FunctionAnswer<T>>;

/**
 * Builds a caller on supabase-js `functions.invoke`, so the same code reaches a
 * hosted project (`https://<ref>.supabase.co`) and the dev server
 * (`http://127.0.0.1:<port>`). Non-2xx answers are returned, not thrown, because
 * the CLI's exit codes depend on them (503 unhealthy, 409 busy).
 *
 * @throws {z.ZodError} when SUPABASE_URL or the key is missing.
 */
export function createFunctionsCaller(
  env: Record<string, string | undefined>,
): FunctionsCaller {
  const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY } = functionsEnvSchema.parse({
    SUPABASE_URL: env.SUPABASE_URL || undefined,
    SUPABASE_SERVICE_ROLE_KEY: env.SUPABASE_SERVICE_ROLE_KEY || env.SUPABASE_SECRET_KEY ||
      undefined,
  });
  const client = createClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  return async <T>(
    path: string,
    options: Parameters<FunctionsCaller>[1] = {},
  ): Promise<FunctionAnswer<T>> => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) query.set(key, String(value));
    }
    const target = query.size ? `${path}?${query}` : path;
    const { data, error, response } = await client.functions.invoke(target, {
      method: options.method ?? "GET",
      body: options.body,
      headers: options.headers,
      timeout: options.timeoutMs ?? 150_000,
    });
    if (error instanceof FunctionsHttpError) {
      const response = error.context as Response;
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): keep the text for the message.
      }
      return { status: response.status, ok: false, body: body as T };
    }
    if (error instanceof FunctionsFetchError) {
      throw new UnreachableError(`${SUPABASE_URL}/functions/v1/${path}`, error.context ?? error);
    }
    if (error) throw error;
    return { status: response?.status ?? 200, ok: true, body: data as T };
  };
}

/** The message of an error envelope (`{error: {code, message}}`), or the raw body. */
export function errorText(answer: FunctionAnswer): string {
  const body = answer.body as { error?: { code?: string; message?: string } } | string;
  if (typeof body === "object" && body?.error?.message) {
    return `${answer.status} ${body.error.code ?? "error"}: ${body.error.message}`;
  }
  return `${answer.status}: ${
    typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body)
  }`;
}
