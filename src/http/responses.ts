import { z } from "zod";

/** An error with the HTTP status and code it should answer with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A 400 naming the field at fault. */
export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, "invalid_request", `Invalid '${field}': ${message}`, { field });
}

/** The value at `path` inside `input`, for messages that quote what was received. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The first zod issue as a 400 naming its field path. An unknown key is named
 * itself ("Invalid 'tiers': unknown field"); a value outside an enum is quoted
 * ("Invalid 'tier': received 'hourly'; expected one of ...") when `input` is given.
 */
export function fromZodError(error: z.ZodError, root = "body", input?: unknown): HttpError {
  const issue = error.issues[0];
  let field = issue.path.length ? issue.path.join(".") : root;
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length ? `${field}.` : "";
    field = `${prefix}${issue.keys[0]}`;
    message = issue.keys.length > 1
      ? `unknown fields ${issue.keys.map((key) => `'${prefix}${key}'`).join(", ")}`
      : "unknown field";
  } else if (issue.code === "invalid_value" && input !== undefined) {
    const received = valueAt(input, issue.path);
    if (received !== undefined) {
      message = `received ${JSON.stringify(received)}; ${
        issue.message.replace(/^Invalid option: /, "")
      }`;
    }
  }
  return new HttpError(400, "invalid_request", `Invalid '${field}': ${message}`, {
    field,
    issues: error.issues.slice(0, 10).map((i) => ({ path: i.path.join("."), message: i.message })),
  });
}

/** A JSON response with the right content type. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The error envelope of DESIGN.md: `{ error: { code, message } }`. */
export function errorResponse(error: HttpError): Response {
  return json(
    { error: { code: error.code, message: error.message, ...error.details } },
    error.status,
    error.headers,
  );
}

const MAX_BODY_BYTES = 1_000_000;

/**
 * Reads an optional JSON body and validates it. An empty body is `{}`; malformed
 * JSON or a body that fails the schema is a 400 naming the field.
 */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
): Promise<z.infer<S>> {
  const tooLarge = () => new HttpError(413, "payload_too_large", "Request body exceeds 1 MB");
  // Refuse a declared oversize body before reading it into memory.
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw tooLarge();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest("body", "malformed JSON");
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, "body", raw);
  return parsed.data;
}

/** Validates URL query parameters against a schema (400 naming the parameter). */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) raw[key] = value;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, "query", raw);
  return parsed.data;
}
