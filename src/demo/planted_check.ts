import type { Sql } from "../db/client.ts";
import type { Severity } from "../detectors/types.ts";
import type { ExpectedEvent, PlantedAnomaly } from "./pack_traffic.ts";

/** A live (OPEN or ACKNOWLEDGED) event, as the report and the check read it. */
export interface LiveEvent {
  event_id: number;
  detector: string;
  pack: string;
  severity: Severity;
  card_id: string | null;
  entity_id: string | null;
  title: string;
  context: Record<string, unknown>;
  occurrence_count: number;
}

/** How one planted anomaly fared: each expected event and how many live events match it. */
export interface PlantCheck {
  anomaly: PlantedAnomaly;
  matches: { expect: ExpectedEvent; count: number }[];
  /** Every expected event is there exactly once. */
  found: boolean;
}

/** The verdict on a run: planted anomalies found, and events nobody planted. */
export interface DetectionCheck {
  plants: PlantCheck[];
  /** Live events of the checked packs that no planted anomaly explains (false positives). */
  unexpected: LiveEvent[];
  ok: boolean;
}

/** Every live event, most severe first. */
export async function liveEvents(sql: Sql): Promise<LiveEvent[]> {
  return await sql<LiveEvent[]>`
    select event_id, detection_algorithm as detector, pack, severity, card_id, entity_id,
      title, context, occurrence_count
    from monitoring_events
    where status in ('OPEN', 'ACKNOWLEDGED')
    order by array_position(array['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], severity),
      detection_algorithm, event_id`;
}

function matches(event: LiveEvent, expect: ExpectedEvent): boolean {
  return event.detector === expect.detector && event.severity === expect.severity &&
    (event.card_id === expect.subject || event.entity_id === expect.subject);
}

/**
 * Checks that each planted anomaly became exactly the events it expects (one each)
 * and that no other live event of the `packs` the traffic covers exists.
 */
export function checkPlanted(
  planted: readonly PlantedAnomaly[],
  events: readonly LiveEvent[],
  packs: readonly string[],
): DetectionCheck {
  const plants = planted.map((anomaly) => {
    const counts = anomaly.expect.map((expect) => ({
      expect,
      count: events.filter((event) => matches(event, expect)).length,
    }));
    return { anomaly, matches: counts, found: counts.every((m) => m.count === 1) };
  });
  const expected = planted.flatMap((anomaly) => anomaly.expect);
  const unexpected = events.filter((event) =>
    packs.includes(event.pack) && !expected.some((expect) => matches(event, expect))
  );
  return {
    plants,
    unexpected,
    ok: plants.every((plant) => plant.found) && unexpected.length === 0,
  };
}
