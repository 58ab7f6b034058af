import { z } from "zod";
import type { Tx } from "../../db/client.ts";
import { matcherSchema, matchesAll } from "../matchers.ts";
import type { Labels } from "../labels.ts";

/** A silence as stored and returned. */
export interface Silence {
  silence_id: number;
  matchers: string[];
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string;
  created_at: Date;
}

/** Body of a new silence (the API's POST /silences validates with it). */
export const silenceInputSchema = z.object({
  matchers: z.array(matcherSchema).min(1).max(20),
  starts_at: z.coerce.date().optional(),
  ends_at: z.coerce.date(),
  created_by: z.string().trim().min(1).max(200),
  comment: z.string().trim().min(1).max(2000),
}).strict().refine((input) => !input.starts_at || input.ends_at > input.starts_at, {
  message: "ends_at must be after starts_at",
  path: ["ends_at"],
});
export type SilenceInput = z.infer<typeof silenceInputSchema>;

/**
 * Stores a silence. It mutes matching notifications from `starts_at` (default
 * `now`) until `ends_at`; after that it stops muting on its own.
 *
 * @throws {z.ZodError} when the input is invalid.
 */
export async function createSilence(
  sql: Tx,
  input: SilenceInput,
  now = new Date(),
): Promise<Silence> {
  const valid = silenceInputSchema.parse(input);
  const startsAt = valid.starts_at ?? now;
  if (valid.ends_at <= startsAt) {
    throw new z.ZodError([{
      code: "custom",
      path: ["ends_at"],
      message: "ends_at must be after starts_at",
      input,
    }]);
  }
  const [row] = await sql<Silence[]>`
    insert into alert_silences (matchers, starts_at, ends_at, created_by, comment, created_at)
    values (${sql.json(valid.matchers)}, ${startsAt}, ${valid.ends_at}, ${valid.created_by},
      ${valid.comment}, ${now})
    returning silence_id, matchers, starts_at, ends_at, created_by, comment, created_at`;
  return row;
}

/** Ends a silence now (DELETE /silences/:id); returns it, or null when unknown or already over. */
export async function expireSilence(
  sql: Tx,
  silenceId: number,
  now = new Date(),
): Promise<Silence | null> {
  const [row] = await sql<Silence[]>`
    update alert_silences
    set ends_at = ${now},
      -- A silence that has not started yet ends before it starts, never after.
      starts_at = least(starts_at, ${now}::timestamptz - interval '1 millisecond'),
      updated_at = ${now}
    where silence_id = ${silenceId} and ends_at > ${now}
    returning silence_id, matchers, starts_at, ends_at, created_by, comment, created_at`;
  return row ?? null;
}

/** Silences by state at `now`: active, pending (starting later) or expired; newest first. */
export async function listSilences(
  sql: Tx,
  options: { state?: "active" | "pending" | "expired"; now?: Date; limit?: number } = {},
): Promise<(Silence & { state: "active" | "pending" | "expired" })[]> {
  const now = options.now ?? new Date();
  return await sql`
    select silence_id, matchers, starts_at, ends_at, created_by, comment, created_at,
      case when ends_at <= ${now} then 'expired' when starts_at > ${now} then 'pending'
        else 'active' end as state
    from alert_silences
    where ${
    options.state === "active"
      ? sql`starts_at <= ${now} and ends_at > ${now}`
      : options.state === "pending"
      ? sql`starts_at > ${now}`
      : options.state === "expired"
      ? sql`ends_at <= ${now}`
      : sql`true`
  }
    order by silence_id desc
    limit ${options.limit ?? 200}`;
}

/** Silences in force at `now`. */
export async function activeSilences(sql: Tx, now: Date): Promise<Silence[]> {
  return await sql<Silence[]>`
    select silence_id, matchers, starts_at, ends_at, created_by, comment, created_at
    from alert_silences where starts_at <= ${now} and ends_at > ${now}
    order by silence_id`;
}

/** The first silence whose matchers all accept `labels`. */
export function silencing(silences: readonly Silence[], labels: Labels): Silence | undefined {
  return silences.find((silence) => matchesAll(silence.matchers, labels));
}
