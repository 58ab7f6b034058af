import { z } from "zod";
import {
  apiEventSchema,
  eventDetailSchema,
  eventIdSchema,
  eventsPageSchema,
  eventsQuerySchema,
} from "./events.ts";
import { statusChangeBodySchema } from "./event_status.ts";
import { snapshotsQuerySchema, snapshotsResponseSchema } from "./snapshots.ts";
import { statsQuerySchema, statsResponseSchema } from "./stats.ts";
import { alertsQuerySchema, alertsResponseSchema } from "./alerts.ts";
import {
  apiSilenceSchema,
  silenceBodySchema,
  silencesQuerySchema,
  silencesResponseSchema,
} from "./silences.ts";

/** The error envelope every non-2xx JSON answer uses. */
export const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }).loose(),
});

/** One documented operation; the zod schemas are the ones the handlers validate with. */
export interface ApiOperation {
  method: "get" | "post" | "patch" | "delete";
  path: string;
  summary: string;
  query?: z.ZodObject;
  pathParams?: Record<string, z.ZodType>;
  body?: z.ZodType;
  response?: z.ZodType;
  /** Non-JSON answers (the metrics exposition). */
  contentType?: string;
  errors?: number[];
}

/** PATCH answers with the updated event row. */
const patchedEventSchema = z.object({ event: apiEventSchema });

/** Every operation of `monitoring-api`, in one table. */
export const API_OPERATIONS: ApiOperation[] = [
  {
    method: "get",
    path: "/health",
    summary: "Database, tier freshness and breakers (as the monitoring function's /health)",
  },
  {
    method: "get",
    path: "/events",
    summary: "Events, newest first, filtered and paged by keyset cursor",
    query: eventsQuerySchema,
    response: eventsPageSchema,
    errors: [400],
  },
  {
    method: "get",
    path: "/events/{id}",
    summary: "One event with its alert history and status changes",
    pathParams: { id: eventIdSchema },
    response: eventDetailSchema,
    errors: [400, 404],
  },
  {
    method: "patch",
    path: "/events/{id}",
    summary: "Acknowledge, resolve or mark an event as a false positive",
    pathParams: { id: eventIdSchema },
    body: statusChangeBodySchema,
    response: patchedEventSchema,
    errors: [400, 404, 409],
  },
  {
    method: "get",
    path: "/snapshots",
    summary: "Health snapshots, newest first",
    query: snapshotsQuerySchema,
    response: snapshotsResponseSchema,
    errors: [400],
  },
  {
    method: "get",
    path: "/stats",
    summary: "Dashboard figures over a window, computed in SQL",
    query: statsQuerySchema,
    response: statsResponseSchema,
    errors: [400],
  },
  {
    method: "get",
    path: "/alerts",
    summary: "Alert deliveries (alert_history), newest first",
    query: alertsQuerySchema,
    response: alertsResponseSchema,
    errors: [400],
  },
  {
    method: "get",
    path: "/silences",
    summary: "Alert silences, newest first",
    query: silencesQuerySchema,
    response: silencesResponseSchema,
    errors: [400],
  },
  {
    method: "post",
    path: "/silences",
    summary: "Create a silence (matchers, ends_at, comment); an admin's is attributed to them",
    body: silenceBodySchema,
    response: z.object({ silence: apiSilenceSchema }),
    errors: [400],
  },
  {
    method: "delete",
    path: "/silences/{id}",
    summary: "End a silence now",
    pathParams: { id: z.string().regex(/^[1-9]\d{0,15}$/) },
    response: z.object({ silence: apiSilenceSchema }),
    errors: [400, 404],
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus text exposition",
    contentType: "text/plain; version=0.0.4",
  },
];

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Bad input; `error.field` names it",
  401: "No or bad credentials",
  403: "Valid credentials without the right to do this",
  404: "Unknown event",
  409: "Illegal status transition; the message says why",
  503: "Database unavailable",
};

function operationObject(op: ApiOperation) {
  const parameters = [
    ...Object.entries(op.pathParams ?? {}).map(([name, schema]) => ({
      name,
      in: "path",
      required: true,
      schema: jsonSchema(schema, "input"),
    })),
    ...Object.entries(op.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: "query",
      required: !(schema as z.ZodType).safeParse(undefined).success,
      ...(schema as z.ZodType).description
        ? { description: (schema as z.ZodType).description }
        : {},
      schema: jsonSchema(schema as z.ZodType, "input"),
    })),
  ];
  const responses: Record<string, unknown> = {
    [op.method === "post" ? "201" : "200"]: {
      description: op.summary,
      content: op.contentType
        ? { [op.contentType]: { schema: { type: "string" } } }
        : { "application/json": { schema: op.response ? jsonSchema(op.response, "output") : {} } },
    },
  };
  for (const status of [...(op.errors ?? []), 401, 403, 503]) {
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? "Error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return {
    summary: op.summary,
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
        requestBody: {
          required: true,
          content: { "application/json": { schema: jsonSchema(op.body, "input") } },
        },
      }
      : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of `monitoring-api`, generated from the zod schemas the
 * handlers validate requests with (`z.toJSONSchema`), so the two cannot drift.
 */
export function openApiDocument(options: { serverUrl?: string } = {}) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of API_OPERATIONS) {
    paths[op.path] ??= {};
    paths[op.path][op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "monitoring-api",
      version: "1.0.0",
      description: "Admin dashboard API of the monitoring service. Every operation needs " +
        "the service role key (Bearer), a secret key (apikey) or an admin user's JWT.",
    },
    servers: [{ url: options.serverUrl ?? "/functions/v1/monitoring-api" }],
    security: [{ bearer: [] }, { apikey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        apikey: { type: "apiKey", in: "header", name: "apikey" },
      },
      schemas: { Error: jsonSchema(errorEnvelopeSchema, "output") },
    },
    paths,
  };
}
