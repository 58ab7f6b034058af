import { z } from "zod";

/** True when `name` is an IANA time zone this runtime (and so Postgres) knows. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The zod field for the time zone in which a detector's "today" starts (daily
 * comparisons follow the platform's business day, not the server's clock).
 */
export function timeZoneField(defaultZone = "UTC") {
  return z.string().refine(isTimeZone, {
    message: "must be an IANA time zone such as 'UTC' or 'Europe/Paris'",
  }).default(defaultZone);
}
