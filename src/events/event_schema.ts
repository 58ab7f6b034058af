import { z } from "zod";
import { packSchema, severitySchema } from "../detectors/types.ts";

export const eventStatusSchema = z.enum(["OPEN", "ACKNOWLEDGED", "RESOLVED", "FALSE_POSITIVE"]);
export type EventStatus = z.infer<typeof eventStatusSchema>;

/** A `monitoring_events` row as the service reads and returns it. */
export const monitoringEventSchema = z.object({
  event_id: z.number().int(),
  event_type: z.string(),
  severity: severitySchema,
  status: eventStatusSchema,
  detection_algorithm: z.string(),
  pack: packSchema,
  title: z.string(),
  card_id: z.string().nullable(),
  transaction_id: z.string().nullable(),
  entity_type: z.string().nullable(),
  entity_id: z.string().nullable(),
  confidence_score: z.number(),
  context: z.record(z.string(), z.unknown()),
  fingerprint: z.string(),
  occurred_at: z.date(),
  detection_timestamp: z.date(),
  created_at: z.date(),
  updated_at: z.date(),
  resolved_at: z.date().nullable(),
  resolution_notes: z.string().nullable(),
  occurrence_count: z.number().int(),
  last_seen_at: z.date(),
});
export type MonitoringEvent = z.infer<typeof monitoringEventSchema>;

/** What happened to an event in a cycle: the alert pipeline's input. */
export type EventChangeKind = "opened" | "repeated" | "resolved";
export interface EventChange {
  kind: EventChangeKind;
  event: MonitoringEvent;
}
