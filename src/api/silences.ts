import { z } from "zod";
import type { Sql } from "../db/client.ts";
import { createSilence, expireSilence, listSilences, silenceInputSchema } from "../alerts/mod.ts";
import type { Principal } from "../http/auth.ts";
import { badRequest, fromZodError, HttpError } from "../http/responses.ts";
import { actorOf } from "./event_status.ts";

const timestamp = z.iso.datetime({ offset: true });

/** Query of `GET /silences`. */
export const silencesQuerySchema = z.object({
  state: z.enum(["active", "pending", "expired"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(100),
}).strict();

/** A silence as the API returns it. */
export const apiSilenceSchema = z.object({
  silence_id: z.number().int(),
  matchers: z.array(z.string()),
  starts_at: timestamp,
  ends_at: timestamp,
  created_by: z.string(),
  comment: z.string(),
  created_at: timestamp,
});

export const silencesResponseSchema = z.object({
  silences: z.array(apiSilenceSchema.extend({ state: z.enum(["active", "pending", "expired"]) })),
});

/**
 * Body of `POST /silences`: the alert pipeline's silence input, where
 * `created_by` may be left out (it then names the caller). An admin's silence is
 * always attributed to the admin, whatever the body says.
 */
export const silenceBodySchema = z.object({
  ...silenceInputSchema.shape,
  created_by: silenceInputSchema.shape.created_by.optional(),
}).strict();

/** Path parameter of `DELETE /silences/:id`. */
export function parseSilenceId(raw: string | undefined): number {
  if (!raw || !/^[1-9]\d{0,15}$/.test(raw)) {
    throw badRequest("id", `expected a positive integer, received '${raw}'`);
  }
  return Number(raw);
}

/** Lists silences, newest first. */
export async function silencesList(sql: Sql, query: z.infer<typeof silencesQuerySchema>) {
  return { silences: await listSilences(sql, query) };
}

/**
 * Creates a silence from a validated body.
 *
 * @throws {HttpError} 400 naming the field when the alert pipeline refuses it.
 */
export async function silenceCreate(
  sql: Sql,
  body: z.infer<typeof silenceBodySchema>,
  principal: Principal,
) {
  const caller = actorOf(principal);
  const createdBy = caller.kind === "admin" ? caller.actor : body.created_by ?? caller.actor;
  try {
    return { silence: await createSilence(sql, { ...body, created_by: createdBy }) };
  } catch (error) {
    if (error instanceof z.ZodError) throw fromZodError(error);
    throw error;
  }
}

/**
 * Ends a silence now.
 *
 * @throws {HttpError} 404 when it is unknown or already over.
 */
export async function silenceExpire(sql: Sql, silenceId: number) {
  const silence = await expireSilence(sql, silenceId);
  if (!silence) {
    throw new HttpError(404, "not_found", `No active or pending silence with id ${silenceId}`);
  }
  return { silence };
}
