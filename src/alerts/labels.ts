import type { MonitoringEvent } from "../events/event_schema.ts";

/** Label names an event carries; routes, inhibit rules and silences match on these. */
export const LABEL_NAMES = [
  "severity",
  "pack",
  "detector",
  "event_type",
  "card_id",
  "entity_type",
  "entity_id",
  "transaction_id",
] as const;
export type LabelName = typeof LABEL_NAMES[number];

/** An event's labels; absent values are left out (and match as "" like Alertmanager's). */
export type Labels = Partial<Record<LabelName, string>>;

/** The `monitoring_events` column behind each label. */
export const LABEL_COLUMNS: Record<LabelName, string> = {
  severity: "severity",
  pack: "pack",
  detector: "detection_algorithm",
  event_type: "event_type",
  card_id: "card_id",
  entity_type: "entity_type",
  entity_id: "entity_id",
  transaction_id: "transaction_id",
};

/** The columns labels are read from; any string-valued row with them will do. */
type LabelSource = { [K in keyof MonitoringEvent & LabelColumn]: string | null };
type LabelColumn =
  | "severity"
  | "pack"
  | "detection_algorithm"
  | "event_type"
  | "card_id"
  | "entity_type"
  | "entity_id"
  | "transaction_id";

/** The labels of one event. */
export function alertLabels(event: LabelSource): Labels {
  const labels: Labels = {};
  for (const name of LABEL_NAMES) {
    const value = (event as unknown as Record<string, unknown>)[LABEL_COLUMNS[name]];
    if (value !== null && value !== undefined && value !== "") labels[name] = String(value);
  }
  return labels;
}
