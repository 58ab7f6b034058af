import type { Fragment, Tx } from "../db/client.ts";
import type { Detector, DetectorResult, Finding } from "../detectors/types.ts";
import type { EventChange, MonitoringEvent } from "./event_schema.ts";

/** Counts and changes from writing one detector's findings. */
export interface RecordOutcome {
  newEvents: number;
  repeated: number;
  resolved: number;
  changes: EventChange[];
}

const MAX_CONTEXT_BYTES = 16_384;

function boundedContext(context: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = context ?? {};
  const text = JSON.stringify(value);
  if (text.length <= MAX_CONTEXT_BYTES) return value;
  return { truncated: true, size: text.length, preview: text.slice(0, 1024) };
}

/** The stored fingerprint of a detector's finding: unique among live events across detectors. */
function eventFingerprint(detectorId: string, fingerprint: string): string {
  return `${detectorId}:${fingerprint}`;
}

/**
 * The fingerprints, as the detector gave them, of a detector's live (open or
 * acknowledged) events: a subquery with one text column, `fingerprint`. A detector
 * that names what cleared (`DetectorResult.cleared`) can pick, inside its own
 * statement, just the subjects that have something to resolve.
 */
export function liveFingerprints(sql: Tx, detectorId: string): Fragment {
  return sql`
    select substr(fingerprint, ${eventFingerprint(detectorId, "").length + 1}) as fingerprint
    from monitoring_events
    where detection_algorithm = ${detectorId} and status in ('OPEN', 'ACKNOWLEDGED')`;
}

function toRow(detector: Detector, finding: Finding, now: Date) {
  return {
    event_type: detector.eventType,
    severity: finding.severity ?? detector.severity,
    detection_algorithm: detector.id,
    pack: detector.pack,
    title: finding.title.slice(0, 500),
    card_id: finding.cardId ?? null,
    transaction_id: finding.transactionId ?? null,
    entity_type: finding.entityType ?? null,
    entity_id: finding.entityId ?? null,
    confidence_score: finding.confidence ?? 1,
    context: boundedContext(finding.context),
    fingerprint: eventFingerprint(detector.id, finding.fingerprint),
    occurred_at: finding.occurredAt ? new Date(finding.occurredAt) : now,
    detection_timestamp: now,
  };
}

/**
 * Writes a detector's findings as events, in the caller's transaction: a finding
 * whose fingerprint has a live event bumps `occurrence_count` and `last_seen_at`;
 * any other opens a new event. For `state` detectors, live events whose subject no
 * longer breaches are resolved; `result.cleared` resolves named fingerprints.
 */
export async function recordFindings(
  sql: Tx,
  detector: Detector,
  result: DetectorResult,
  now: Date,
): Promise<RecordOutcome> {
  const changes: EventChange[] = [];
  // One statement cannot touch a row twice, so duplicates within a run are merged first.
  const byFingerprint = new Map(
    result.findings.map((finding) => [eventFingerprint(detector.id, finding.fingerprint), finding]),
  );
  const rows = [...byFingerprint.values()].map((finding) => toRow(detector, finding, now));

  for (let start = 0; start < rows.length; start += 1000) {
    const chunk = rows.slice(start, start + 1000);
    const written = await sql<(MonitoringEvent & { inserted: boolean })[]>`
      insert into monitoring_events ${
      sql(
        chunk as never,
        "event_type",
        "severity",
        "detection_algorithm",
        "pack",
        "title",
        "card_id",
        "transaction_id",
        "entity_type",
        "entity_id",
        "confidence_score",
        "context",
        "fingerprint",
        "occurred_at",
        "detection_timestamp",
      )
    }
      on conflict (fingerprint) where status in ('OPEN', 'ACKNOWLEDGED') do update set
        occurrence_count = monitoring_events.occurrence_count + 1,
        last_seen_at = excluded.detection_timestamp,
        context = excluded.context,
        title = excluded.title,
        severity = excluded.severity,
        updated_at = now()
      returning *, (xmax = 0) as inserted`;
    for (const { inserted, ...event } of written) {
      changes.push({ kind: inserted ? "opened" : "repeated", event });
    }
  }

  const live = [...byFingerprint.keys()];
  const note = result.clearedNote ?? "Condition cleared: resolved automatically by the detector";
  const resolved: MonitoringEvent[] = [];
  if (detector.kind === "state") {
    resolved.push(
      ...await sql<MonitoringEvent[]>`
        update monitoring_events set
          status = 'RESOLVED', resolved_at = now(), updated_at = now(), resolution_notes = ${note}
        where detection_algorithm = ${detector.id}
          and status in ('OPEN', 'ACKNOWLEDGED')
          and fingerprint <> all(${live}::text[])
        returning *`,
    );
  }
  if (result.cleared?.length) {
    const cleared = result.cleared.map((fingerprint) => eventFingerprint(detector.id, fingerprint))
      .filter((fingerprint) => !byFingerprint.has(fingerprint));
    resolved.push(
      ...await sql<MonitoringEvent[]>`
        update monitoring_events set
          status = 'RESOLVED', resolved_at = now(), updated_at = now(), resolution_notes = ${note}
        where fingerprint = any(${cleared}::text[])
          and status in ('OPEN', 'ACKNOWLEDGED')
        returning *`,
    );
  }
  for (const event of resolved) changes.push({ kind: "resolved", event });

  return {
    newEvents: changes.filter((change) => change.kind === "opened").length,
    repeated: changes.filter((change) => change.kind === "repeated").length,
    resolved: resolved.length,
    changes,
  };
}
