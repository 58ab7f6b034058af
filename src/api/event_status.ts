import { z } from "zod";
import type { Sql, Tx } from "../db/client.ts";
import type { EventStatus, MonitoringEvent } from "../events/event_schema.ts";
import { eventStatusSchema } from "../events/event_schema.ts";
import type { Principal } from "../http/auth.ts";
import { HttpError } from "../http/responses.ts";

/** Body of `PATCH /events/:id`. */
export const statusChangeBodySchema = z.object({
  status: eventStatusSchema,
  resolution_notes: z.string().trim().min(1).max(4_000).optional(),
}).strict();
export type StatusChangeBody = z.infer<typeof statusChangeBodySchema>;

/** Where each status may go: OPEN -> ACKNOWLEDGED -> RESOLVED | FALSE_POSITIVE, or straight to a close. */
export const STATUS_TRANSITIONS: Readonly<Record<EventStatus, readonly EventStatus[]>> = {
  OPEN: ["ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"],
  ACKNOWLEDGED: ["RESOLVED", "FALSE_POSITIVE"],
  RESOLVED: [],
  FALSE_POSITIVE: [],
};

/** Why a transition is illegal, or undefined when it is allowed. */
export function transitionError(from: EventStatus, to: EventStatus): string | undefined {
  if (STATUS_TRANSITIONS[from].includes(to)) return undefined;
  if (from === to) return `Event is already ${from}`;
  const allowed = STATUS_TRANSITIONS[from];
  return allowed.length === 0
    ? `Cannot move event from ${from} to ${to}: ${from} is final`
    : `Cannot move event from ${from} to ${to}: allowed from ${from} are ${allowed.join(", ")}`;
}

/** Who made a change, as recorded in `monitoring_event_status_changes.actor`. */
export function actorOf(principal: Principal): { actor: string; kind: Principal["kind"] } {
  switch (principal.kind) {
    case "admin":
      return { actor: principal.email ?? principal.userId, kind: "admin" };
    case "service":
      return { actor: principal.via, kind: "service" };
    case "cron":
      return { actor: "cron", kind: "cron" };
  }
}

/** A status change an operator made, handed to the alert pipeline. */
export interface StatusChange {
  event: MonitoringEvent;
  previousStatus: EventStatus;
  /** `<kind>:<who>`, e.g. `admin:ana@example.com` or `service:service_role`. */
  actor: string;
}

/**
 * Runs inside the status change's transaction, after the event is written: the
 * alert pipeline enqueues its acknowledge/resolve notifications here, so they
 * commit (or roll back) with the change.
 */
export type StatusChangeHook = (tx: Tx, change: StatusChange) => Promise<void>;

/**
 * Moves an event to a new status in one transaction: locks the row, checks the
 * transition, sets `resolved_at` for RESOLVED/FALSE_POSITIVE, records who did it,
 * and calls `onStatusChange` before commit.
 *
 * @throws {HttpError} 404 unknown event, 409 illegal transition.
 */
export async function changeEventStatus(
  sql: Sql,
  options: {
    eventId: bigint;
    body: StatusChangeBody;
    principal: Principal;
    onStatusChange?: StatusChangeHook;
  },
): Promise<MonitoringEvent> {
  const id = options.eventId.toString();
  const { actor, kind } = actorOf(options.principal);
  const { status, resolution_notes: notes } = options.body;
  return await sql.begin(async (tx) => {
    const [current] = await tx<{ status: EventStatus }[]>`
      select status from monitoring_events where event_id = ${id}::bigint for update`;
    if (!current) throw new HttpError(404, "not_found", `No event with id ${id}`);
    const illegal = transitionError(current.status, status);
    if (illegal) {
      throw new HttpError(409, "illegal_transition", illegal, {
        from: current.status,
        to: status,
        allowed: STATUS_TRANSITIONS[current.status],
      });
    }
    const closes = status === "RESOLVED" || status === "FALSE_POSITIVE";
    const [event] = await tx<MonitoringEvent[]>`
      update monitoring_events set
        status = ${status},
        resolution_notes = coalesce(${notes ?? null}, resolution_notes),
        resolved_at = ${closes ? tx`now()` : tx`resolved_at`},
        updated_at = now()
      where event_id = ${id}::bigint
      returning *`;
    await tx`
      insert into monitoring_event_status_changes (event_id, from_status, to_status, actor, actor_kind, notes)
      values (${id}::bigint, ${current.status}, ${status}, ${actor}, ${kind}, ${notes ?? null})`;
    // The one place an operator's status change reaches the alert pipeline.
    await options.onStatusChange?.(tx, {
      event,
      previousStatus: current.status,
      actor: `${kind}:${actor}`,
    });
    return event;
  });
}
