import { badRequest } from "../http/responses.ts";

/** A position in the newest-first events order: (detection_timestamp desc, event_id desc). */
export interface EventCursor {
  /** detection_timestamp in microseconds since the epoch, exact (a JS Date keeps only ms). */
  micros: bigint;
  eventId: bigint;
}

const CURSOR_PATTERN = /^(-?\d{1,20})\.(\d{1,19})$/;

/** Encodes a keyset position as an opaque, URL-safe string. */
export function encodeCursor(cursor: EventCursor): string {
  const text = `${cursor.micros}.${cursor.eventId}`;
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a cursor made by {@linkcode encodeCursor}.
 *
 * @throws {HttpError} 400 naming `cursor` when it was not made by this service.
 */
export function decodeCursor(value: string): EventCursor {
  let text: string;
  try {
    text = atob(value.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw badRequest("cursor", "not a cursor returned as next_cursor");
  }
  const match = CURSOR_PATTERN.exec(text);
  if (!match) throw badRequest("cursor", "not a cursor returned as next_cursor");
  return { micros: BigInt(match[1]), eventId: BigInt(match[2]) };
}
