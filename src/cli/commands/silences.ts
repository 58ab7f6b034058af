import type { Command } from "../cli_io.ts";
import { EXIT, printJson, UsageError } from "../cli_io.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand, parseDuration, parseId, parseTime } from "../parse_args.ts";
import { renderTable } from "../table.ts";

interface ApiSilence {
  silence_id: number;
  matchers: string[];
  starts_at: string;
  ends_at: string;
  created_by: string;
  comment: string;
  state?: string;
}

/**
 * `monitor silence create|list|expire`: silences mute notifications whose labels
 * match every matcher (`pack=festival`, `severity=~"HIGH|MEDIUM"`) between
 * `starts_at` and `ends_at`; events are still recorded. For maintenance windows:
 * `silence create --matcher pack=festival --duration 2h --comment "card DB migration"`.
 */
export const silence: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  switch (action) {
    case "create":
      return await createSilence(rest, ctx);
    case "list":
      return await listSilences(rest, ctx);
    case "expire":
      return await expireSilence(rest, ctx);
    default:
      throw new UsageError(
        `silence: Cannot parse action: received '${action ?? ""}' (create, list or expire)`,
      );
  }
};

const createSilence: Command = async (args, ctx) => {
  const { values } = parseCommand("silence create", args, {
    matcher: { type: "string", multiple: true },
    duration: { type: "string" },
    until: { type: "string" },
    starts: { type: "string" },
    comment: { type: "string" },
    by: { type: "string" },
  });
  if (!values.matcher?.length) {
    throw new UsageError("silence create: at least one --matcher is required (e.g. pack=festival)");
  }
  if (!values.comment?.trim()) {
    throw new UsageError("silence create: --comment is required (why, and who to ask)");
  }
  if (!values.duration === !values.until) {
    throw new UsageError("silence create: give either --duration (e.g. 2h) or --until (ISO time)");
  }
  const startsAt = values.starts ? parseTime("starts", values.starts) : undefined;
  const from = startsAt ? Date.parse(startsAt) : Date.now();
  const endsAt = values.duration
    ? new Date(from + parseDuration("duration", values.duration)).toISOString()
    : parseTime("until", values.until!);
  const body: Record<string, unknown> = {
    matchers: values.matcher,
    ends_at: endsAt,
    created_by: values.by ?? ctx.env.USER ?? "monitor-cli",
    comment: values.comment.trim(),
  };
  if (startsAt) body.starts_at = startsAt;
  const answer = await ctx.call<{ silence?: ApiSilence } & Partial<ApiSilence>>(
    "monitoring-api/silences",
    { method: "POST", body },
  );
  if (!answer.ok) {
    ctx.err(`silence create: ${errorText(answer)}`);
    return answer.status === 400 ? EXIT.usage : EXIT.failed;
  }
  const created = (answer.body.silence ?? answer.body) as ApiSilence;
  if (ctx.json) printJson(ctx, created);
  else {
    ctx.out(
      `silence ${created.silence_id}: ${created.matchers.join(", ")} until ${created.ends_at}`,
    );
  }
  return EXIT.ok;
};

const listSilences: Command = async (args, ctx) => {
  const { values } = parseCommand("silence list", args, { state: { type: "string" } });
  const answer = await ctx.call<{ silences: ApiSilence[] } | ApiSilence[]>(
    "monitoring-api/silences",
    { query: { state: values.state } },
  );
  if (!answer.ok) {
    ctx.err(`silence list: ${errorText(answer)}`);
    return answer.status === 400 ? EXIT.usage : EXIT.failed;
  }
  const silences = Array.isArray(answer.body) ? answer.body : answer.body.silences;
  if (ctx.json) printJson(ctx, silences);
  else if (silences.length === 0) ctx.out("no silences");
  else {
    ctx.out(renderTable(silences, [
      { header: "ID", value: (s) => s.silence_id, align: "right" },
      { header: "STATE", value: (s) => s.state ?? "" },
      { header: "MATCHERS", value: (s) => s.matchers.join(", "), max: 50 },
      { header: "STARTS", value: (s) => s.starts_at },
      { header: "ENDS", value: (s) => s.ends_at },
      { header: "BY", value: (s) => s.created_by },
      { header: "COMMENT", value: (s) => s.comment, max: 50 },
    ]));
  }
  return EXIT.ok;
};

const expireSilence: Command = async (args, ctx) => {
  const { positionals } = parseCommand("silence expire", args, {}, [1, 1]);
  const id = parseId("silence expire", positionals[0]);
  const answer = await ctx.call(`monitoring-api/silences/${id}`, { method: "DELETE" });
  if (!answer.ok) {
    ctx.err(`silence expire: ${errorText(answer)}`);
    return answer.status === 400 ? EXIT.usage : EXIT.failed;
  }
  if (ctx.json) printJson(ctx, answer.body);
  else ctx.out(`silence ${id} expired`);
  return EXIT.ok;
};
