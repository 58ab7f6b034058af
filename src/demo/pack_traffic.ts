import type { Sql } from "../db/client.ts";
import type { Severity } from "../detectors/types.ts";

/**
 * The seam every monitored platform plugs into the demo with. To add a pack's
 * traffic (exchange, trades...), write a `PackTraffic` in `src/demo/<pack>_traffic.ts`
 * and append it to `DEMO_TRAFFIC` in `src/demo/demo_traffic.ts`; the demo creates
 * its tables, generates its traffic, replays its late rows after the first cycles,
 * prints its figures and checks that each planted anomaly became exactly the
 * events it expects, and that nothing else of that pack was flagged.
 */
export interface PackTraffic {
  /** The pack id its planted events carry (`monitoring_events.pack`). */
  pack: string;
  /** Creates the platform's tables (the service never does). */
  createTables(sql: Sql): Promise<void>;
  /**
   * Writes clean traffic and the planted anomalies, set-based in SQL.
   * @returns what was planted and the events each plant must become
   */
  generate(sql: Sql, options: TrafficOptions): Promise<PlantedAnomaly[]>;
  /** Rows that arrive after the first cycles (e.g. offline terminals syncing hours later). */
  late?(sql: Sql, options: TrafficOptions): Promise<PlantedAnomaly[]>;
  /** Figures for the report's traffic table. */
  figures(sql: Sql): Promise<TrafficFigure[]>;
}

/** Shared options for every generator. */
export interface TrafficOptions {
  /** The traffic ends just before this instant. */
  now: Date;
}

/** One row of the traffic table: `cards  600`. */
export interface TrafficFigure {
  label: string;
  value: string | number;
}

/** An event a planted anomaly must open: this detector, at this severity, about this subject. */
export interface ExpectedEvent {
  detector: string;
  severity: Severity;
  /** Matched against the event's `card_id` or `entity_id`. */
  subject: string;
}

/** An anomaly the generator planted on purpose, and the events it must produce. */
export interface PlantedAnomaly {
  pack: string;
  /** What an operator would call it: "failed bar order that deducted 12.50". */
  label: string;
  expect: ExpectedEvent[];
}
