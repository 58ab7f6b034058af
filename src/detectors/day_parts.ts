import type { Tx } from "../db/client.ts";

/**
 * SQL rows `(day_offset int, day_from timestamptz, day_to timestamptz)`: today so far
 * (offset 0, from local midnight in `timeZone` to `now`) and the same part of each of
 * the `baselineDays` previous days (from their midnight to the same local time of
 * day). Comparing today so far with whole previous days would make every morning look
 * like a collapse in activity and hide an afternoon spike until it was huge; comparing
 * like with like avoids both. Each range is half-open, `[day_from, day_to)`.
 */
export function dayParts(sql: Tx, now: Date, timeZone: string, baselineDays: number) {
  return sql`
    with local_now as (
      select (${now}::timestamptz at time zone ${timeZone}) as at
    )
    select d as day_offset,
      (date_trunc('day', l.at) - d * interval '1 day') at time zone ${timeZone} as day_from,
      case when d = 0 then ${now}::timestamptz + interval '1 microsecond'
        else (l.at - d * interval '1 day') at time zone ${timeZone} end as day_to
    from local_now l, generate_series(0, ${baselineDays}::int) as d`;
}
