import { z } from "zod";
import type { Tx } from "../db/client.ts";
import { packSchema, severitySchema } from "../detectors/types.ts";
import { eventStatusSchema, monitoringEventSchema } from "../events/event_schema.ts";
import { badRequest, HttpError } from "../http/responses.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";

/** Context larger than this (bytes of JSON) is replaced by a marker in lists. */
export const LIST_CONTEXT_CAP_BYTES = 4_096;
/** Context larger than this is replaced by a marker in the detail view. */
export const DETAIL_CONTEXT_CAP_BYTES = 65_536;
/** Alert history rows returned with one event, newest first. */
export const DETAIL_ALERT_LIMIT = 200;

const timestamp = z.iso.datetime({ offset: true });
const shortText = z.string().trim().min(1).max(200);

/** Query of `GET /events`: every filter optional; pagination by an opaque cursor. */
export const eventsQuerySchema = z.object({
  severity: severitySchema.optional(),
  status: eventStatusSchema.optional(),
  event_type: shortText.optional(),
  pack: packSchema.optional(),
  card_id: shortText.optional(),
  detector: shortText.optional(),
  since: timestamp.optional().describe("detection_timestamp >= since"),
  until: timestamp.optional().describe("detection_timestamp < until"),
  q: shortText.optional().describe("case-insensitive substring of the title"),
  cursor: z.string().max(200).optional().describe("next_cursor of the previous page"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
}).strict();
export type EventsQuery = z.infer<typeof eventsQuerySchema>;

/** Path parameter of `/events/:id`: a positive integer, else 400 (not 404). */
export const eventIdSchema = z.string().regex(/^[1-9]\d{0,17}$/, "expected a positive integer");

/** Parses an event id from the path; 400 naming `id` when it is not a number. */
export function parseEventId(raw: string | undefined): bigint {
  const parsed = eventIdSchema.safeParse(raw ?? "");
  if (!parsed.success) throw badRequest("id", `expected a positive integer, received '${raw}'`);
  return BigInt(parsed.data);
}

/**
 * An event as the API returns it: the `monitoring_events` row, with its timestamps
 * as the ISO strings JSON turns them into.
 */
export const apiEventSchema = monitoringEventSchema.extend({
  context: z.record(z.string(), z.unknown()).describe(
    "detector context; replaced by {_truncated, _bytes} above the size cap",
  ),
  occurred_at: timestamp,
  detection_timestamp: timestamp,
  created_at: timestamp,
  updated_at: timestamp,
  resolved_at: timestamp.nullable(),
  last_seen_at: timestamp,
});
export type ApiEvent = z.infer<typeof apiEventSchema>;

export const eventsPageSchema = z.object({
  events: z.array(apiEventSchema),
  next_cursor: z.string().nullable().describe("pass as cursor for the next page; null at the end"),
});

export const alertRowSchema = z.object({
  alert_id: z.number().int(),
  event_id: z.number().int().nullable(),
  channel: z.string(),
  status: z.string(),
  dedup_key: z.string(),
  attempts: z.number().int(),
  next_attempt_at: timestamp,
  last_error: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  created_at: timestamp,
  sent_at: timestamp.nullable(),
});

export const statusChangeSchema = z.object({
  change_id: z.number().int(),
  from_status: eventStatusSchema,
  to_status: eventStatusSchema,
  actor: z.string(),
  actor_kind: z.string(),
  notes: z.string().nullable(),
  changed_at: timestamp,
});

export const eventDetailSchema = z.object({
  event: apiEventSchema,
  alert_history: z.array(alertRowSchema),
  status_changes: z.array(statusChangeSchema),
});

/** The columns of an API event, with `context` capped at `cap` bytes. */
function eventColumns(sql: Tx, cap: number) {
  return sql`
    e.event_id, e.event_type, e.severity, e.status, e.detection_algorithm, e.pack, e.title,
    e.card_id, e.transaction_id, e.entity_type, e.entity_id, e.confidence_score,
    case when octet_length(e.context::text) > ${cap}
      then jsonb_build_object('_truncated', true, '_bytes', octet_length(e.context::text))
      else e.context end as context,
    e.fingerprint, e.occurred_at, e.detection_timestamp, e.created_at, e.updated_at,
    e.resolved_at, e.resolution_notes, e.occurrence_count, e.last_seen_at`;
}

/** Escapes LIKE wildcards so `q` matches literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * One page of events, newest first, by keyset on (detection_timestamp, event_id).
 * Rows inserted while a client pages land before its cursor (they are newer), so
 * no row is repeated or skipped. Fetches `limit + 1` rows to know whether a next
 * page exists.
 */
export async function listEvents(
  sql: Tx,
  query: EventsQuery,
): Promise<z.infer<typeof eventsPageSchema>> {
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  const rows = await sql<(ApiEvent & { cursor_micros: string })[]>`
    select ${eventColumns(sql, LIST_CONTEXT_CAP_BYTES)},
      (extract(epoch from e.detection_timestamp) * 1000000)::bigint::text as cursor_micros
    from monitoring_events e
    where true
      ${query.severity ? sql`and e.severity = ${query.severity}` : sql``}
      ${query.status ? sql`and e.status = ${query.status}` : sql``}
      ${query.event_type ? sql`and e.event_type = ${query.event_type}` : sql``}
      ${query.pack ? sql`and e.pack = ${query.pack}` : sql``}
      ${query.card_id ? sql`and e.card_id = ${query.card_id}` : sql``}
      ${query.detector ? sql`and e.detection_algorithm = ${query.detector}` : sql``}
      ${query.since ? sql`and e.detection_timestamp >= ${query.since}::timestamptz` : sql``}
      ${query.until ? sql`and e.detection_timestamp < ${query.until}::timestamptz` : sql``}
      ${query.q ? sql`and e.title ilike ${likePattern(query.q)}` : sql``}
      ${
    after
      ? sql`and (e.detection_timestamp, e.event_id) <
          (timestamptz 'epoch' + ${after.micros.toString()}::bigint * interval '1 microsecond',
           ${after.eventId.toString()}::bigint)`
      : sql``
  }
    order by e.detection_timestamp desc, e.event_id desc
    limit ${query.limit + 1}`;
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const next = rows.length > query.limit && last
    ? encodeCursor({ micros: BigInt(last.cursor_micros), eventId: BigInt(last.event_id) })
    : null;
  return { events: page.map(({ cursor_micros: _, ...event }) => event), next_cursor: next };
}

/**
 * One event with its alert history and status changes.
 *
 * @throws {HttpError} 404 when no event has this id.
 */
export async function getEventDetail(
  sql: Tx,
  eventId: bigint,
): Promise<z.infer<typeof eventDetailSchema>> {
  const id = eventId.toString();
  const [event] = await sql<ApiEvent[]>`
    select ${eventColumns(sql, DETAIL_CONTEXT_CAP_BYTES)}
    from monitoring_events e where e.event_id = ${id}::bigint`;
  if (!event) throw new HttpError(404, "not_found", `No event with id ${id}`);
  const alerts = await sql<z.infer<typeof alertRowSchema>[]>`
    select alert_id, event_id, channel, status, dedup_key, attempts, next_attempt_at, last_error,
      case when octet_length(payload::text) > ${LIST_CONTEXT_CAP_BYTES}
        then jsonb_build_object('_truncated', true, '_bytes', octet_length(payload::text))
        else payload end as payload,
      created_at, sent_at
    from alert_history where event_id = ${id}::bigint
    order by created_at desc, alert_id desc limit ${DETAIL_ALERT_LIMIT}`;
  const changes = await sql<z.infer<typeof statusChangeSchema>[]>`
    select change_id, from_status, to_status, actor, actor_kind, notes, changed_at
    from monitoring_event_status_changes where event_id = ${id}::bigint
    order by changed_at, change_id`;
  return { event, alert_history: [...alerts], status_changes: [...changes] };
}
