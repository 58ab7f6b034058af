import type { Tx } from "../../db/client.ts";
import type { InhibitRule } from "../alert_config.ts";
import { alertLabels, LABEL_COLUMNS } from "../labels.ts";
import type { LabelName, Labels } from "../labels.ts";
import { matchesAll } from "../matchers.ts";

/** What muted a notification by inhibition. */
export interface Inhibition {
  event_id: number;
  severity: string;
  title: string;
  rule: number;
}

interface Candidate {
  event_id: number;
  severity: string;
  title: string;
  pack: string;
  detection_algorithm: string;
  event_type: string;
  card_id: string | null;
  entity_type: string | null;
  entity_id: string | null;
  transaction_id: string | null;
}

/**
 * Finds, for each target, a live (OPEN or ACKNOWLEDGED) event that inhibits it,
 * as Alertmanager's inhibit rules do: the source matches `source_matchers`, the
 * target matches `target_matchers`, and both carry equal, non-empty values for
 * every `equal` label (Alertmanager treats two missing labels as equal; we do not,
 * or every CRITICAL without a card would mute every alert without one). An event
 * never inhibits itself. Candidates are read in one query keyed by the targets'
 * label values, so the work is bounded by the batch, not the table.
 */
export async function findInhibitions(
  sql: Tx,
  rules: readonly InhibitRule[],
  targets: readonly { key: number; event_id: number; labels: Labels }[],
): Promise<Map<number, Inhibition>> {
  const found = new Map<number, Inhibition>();
  if (rules.length === 0 || targets.length === 0) return found;
  const values = new Map<LabelName, Set<string>>();
  for (const rule of rules) {
    for (const target of targets) {
      if (!matchesAll(rule.target_matchers, target.labels)) continue;
      for (const name of rule.equal) {
        const value = target.labels[name];
        if (value) (values.get(name) ?? values.set(name, new Set()).get(name)!).add(value);
      }
    }
  }
  if (values.size === 0) return found;
  const conditions = [...values].map(([name, set]) =>
    sql`${sql(LABEL_COLUMNS[name])}::text = any(${[...set]}::text[])`
  );
  const where = conditions.reduce((all, condition) => sql`${all} or ${condition}`);
  const candidates = await sql<Candidate[]>`
    select event_id, severity, title, pack, detection_algorithm, event_type, card_id,
      entity_type, entity_id, transaction_id
    from monitoring_events
    where status in ('OPEN', 'ACKNOWLEDGED') and (${where})
    order by event_id
    limit 5000`;
  const sources = candidates.map((event) => ({ event, labels: alertLabels(event) }));
  for (const target of targets) {
    for (const [index, rule] of rules.entries()) {
      if (found.has(target.key) || !matchesAll(rule.target_matchers, target.labels)) continue;
      const source = sources.find(({ event, labels }) =>
        Number(event.event_id) !== target.event_id &&
        matchesAll(rule.source_matchers, labels) &&
        rule.equal.every((name) => target.labels[name] && labels[name] === target.labels[name])
      );
      if (source) {
        found.set(target.key, {
          event_id: Number(source.event.event_id),
          severity: source.event.severity,
          title: source.event.title,
          rule: index,
        });
      }
    }
  }
  return found;
}
