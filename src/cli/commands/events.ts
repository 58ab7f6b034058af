import type { CliContext, Command } from "../cli_io.ts";
import { EXIT, printJson, UsageError } from "../cli_io.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand, parseId, parseTime } from "../parse_args.ts";
import { ago, renderTable } from "../table.ts";

/** An event as `monitoring-api` returns it (the fields the CLI prints). */
interface ApiEvent {
  event_id: number;
  event_type: string;
  severity: string;
  status: string;
  detection_algorithm: string;
  pack: string;
  title: string;
  card_id: string | null;
  transaction_id: string | null;
  entity_type: string | null;
  entity_id: string | null;
  confidence_score: number;
  context: Record<string, unknown>;
  occurred_at: string;
  detection_timestamp: string;
  updated_at: string;
  resolved_at: string | null;
  resolution_notes: string | null;
  occurrence_count: number;
  last_seen_at: string;
}

interface EventDetail {
  event: ApiEvent;
  alert_history?: {
    alert_id: number;
    channel: string;
    status: string;
    attempts: number;
    created_at: string;
    sent_at: string | null;
    last_error: string | null;
  }[];
  status_changes?: {
    from_status: string;
    to_status: string;
    actor: string;
    notes: string | null;
    changed_at: string;
  }[];
}

const subject = (e: ApiEvent) =>
  e.card_id
    ? `card ${e.card_id}`
    : e.entity_id
    ? `${e.entity_type ?? "entity"} ${e.entity_id}`
    : "";

/**
 * `monitor events [filters]`: newest first, one page (`--limit`, then `--cursor`
 * from the footer). Filters are the API's: severity, status, event type, pack,
 * card, detector, since/until (ISO or `24h`), and `--q` on the title.
 */
export const events: Command = async (args, ctx) => {
  const { values } = parseCommand("events", args, {
    severity: { type: "string" },
    status: { type: "string" },
    type: { type: "string" },
    pack: { type: "string" },
    card: { type: "string" },
    detector: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    q: { type: "string" },
    limit: { type: "string" },
    cursor: { type: "string" },
  });
  if (values.limit !== undefined && !/^\d+$/.test(values.limit)) {
    throw new UsageError(`events: Cannot parse --limit: received '${values.limit}'`);
  }
  const answer = await ctx.call<{ events: ApiEvent[]; next_cursor: string | null }>(
    "monitoring-api/events",
    {
      query: {
        severity: values.severity?.toUpperCase(),
        status: values.status?.toUpperCase(),
        event_type: values.type,
        pack: values.pack,
        card_id: values.card,
        detector: values.detector,
        since: values.since ? parseTime("since", values.since) : undefined,
        until: values.until ? parseTime("until", values.until) : undefined,
        q: values.q,
        limit: values.limit,
        cursor: values.cursor,
      },
    },
  );
  if (!answer.ok) {
    ctx.err(`events: ${errorText(answer)}`);
    return answer.status === 400 ? EXIT.usage : EXIT.failed;
  }
  const page = answer.body;
  if (ctx.json) {
    printJson(ctx, page);
    return EXIT.ok;
  }
  if (page.events.length === 0) {
    ctx.out("no events match");
    return EXIT.ok;
  }
  ctx.out(renderTable(page.events, [
    { header: "ID", value: (e) => e.event_id, align: "right" },
    { header: "SEVERITY", value: (e) => e.severity },
    { header: "STATUS", value: (e) => e.status },
    { header: "DETECTOR", value: (e) => e.detection_algorithm },
    { header: "SUBJECT", value: subject, max: 30 },
    { header: "SEEN", value: (e) => e.occurrence_count, align: "right" },
    { header: "DETECTED", value: (e) => ago(e.detection_timestamp) },
    { header: "TITLE", value: (e) => e.title, max: 70 },
  ]));
  if (page.next_cursor) ctx.out(`more: --cursor ${page.next_cursor}`);
  return EXIT.ok;
};

/** `monitor show ID`: one event with its context, status changes and alerts. */
export const show: Command = async (args, ctx) => {
  const { positionals } = parseCommand("show", args, {}, [1, 1]);
  const id = parseId("show", positionals[0]);
  const answer = await ctx.call<EventDetail>(`monitoring-api/events/${id}`);
  if (!answer.ok) {
    ctx.err(`show: ${errorText(answer)}`);
    return answer.status === 400 ? EXIT.usage : EXIT.failed;
  }
  if (ctx.json) {
    printJson(ctx, answer.body);
    return EXIT.ok;
  }
  printEvent(ctx, answer.body);
  return EXIT.ok;
};

function printEvent(ctx: CliContext, detail: EventDetail): void {
  const e = detail.event;
  const fields: [string, unknown][] = [
    ["event", `${e.event_id} ${e.severity} ${e.status}`],
    ["title", e.title],
    ["detector", `${e.detection_algorithm} (${e.pack}, ${e.event_type})`],
    ["subject", subject(e) || "-"],
    ["transaction", e.transaction_id],
    ["confidence", e.confidence_score],
    ["occurred", e.occurred_at],
    ["detected", `${e.detection_timestamp} (${ago(e.detection_timestamp)})`],
    ["seen", `${e.occurrence_count} time(s), last ${e.last_seen_at}`],
    ["resolved", e.resolved_at],
    ["notes", e.resolution_notes],
  ];
  for (const [name, value] of fields) {
    if (value !== null && value !== undefined) ctx.out(`${name.padEnd(12)}${value}`);
  }
  ctx.out("context:");
  ctx.out(JSON.stringify(e.context, null, 2).replace(/^/gm, "  "));
  if (detail.status_changes?.length) {
    ctx.out("status changes:");
    ctx.out(renderTable(detail.status_changes, [
      { header: "WHEN", value: (c) => c.changed_at },
      { header: "FROM", value: (c) => c.from_status },
      { header: "TO", value: (c) => c.to_status },
      { header: "BY", value: (c) => c.actor },
      { header: "NOTES", value: (c) => c.notes, max: 60 },
    ]));
  }
  if (detail.alert_history?.length) {
    ctx.out("alerts:");
    ctx.out(renderTable(detail.alert_history, [
      { header: "ID", value: (a) => a.alert_id, align: "right" },
      { header: "CHANNEL", value: (a) => a.channel },
      { header: "STATUS", value: (a) => a.status },
      { header: "TRIES", value: (a) => a.attempts, align: "right" },
      { header: "SENT", value: (a) => a.sent_at },
      { header: "ERROR", value: (a) => a.last_error, max: 50 },
    ]));
  }
}

/**
 * `monitor ack|resolve|false-positive ID [--notes TEXT]`: moves an event along
 * OPEN -> ACKNOWLEDGED -> RESOLVED | FALSE_POSITIVE. Closing needs `--notes`: the
 * notes are the audit trail of what was done about the money.
 */
export function statusCommand(
  name: string,
  status: "ACKNOWLEDGED" | "RESOLVED" | "FALSE_POSITIVE",
): Command {
  return async (args, ctx) => {
    const { values, positionals } = parseCommand(name, args, {
      notes: { type: "string" },
    }, [1, 1]);
    const id = parseId(name, positionals[0]);
    if (status !== "ACKNOWLEDGED" && !values.notes?.trim()) {
      throw new UsageError(`${name}: --notes is required (say what was checked or corrected)`);
    }
    const body: Record<string, unknown> = { status };
    if (values.notes?.trim()) body.resolution_notes = values.notes.trim();
    const answer = await ctx.call<{ event: ApiEvent }>(`monitoring-api/events/${id}`, {
      method: "PATCH",
      body,
    });
    if (!answer.ok) {
      ctx.err(`${name}: ${errorText(answer)}`);
      return answer.status === 400 ? EXIT.usage : EXIT.failed;
    }
    if (ctx.json) printJson(ctx, answer.body);
    else ctx.out(`event ${id}: ${answer.body.event.status} (${answer.body.event.title})`);
    return EXIT.ok;
  };
}
