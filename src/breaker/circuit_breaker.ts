import { z } from "zod";
import type { Tx } from "../db/client.ts";
import type { breakerConfig } from "../config/core_config.ts";

export const breakerStateSchema = z.enum(["closed", "open", "half_open"]);
export type BreakerState = z.infer<typeof breakerStateSchema>;
export type BreakerSettings = z.infer<typeof breakerConfig.schema>;

/** A breaker row as `/status` shows it. */
export interface BreakerRow {
  name: string;
  state: BreakerState;
  failures: number;
  opened_at: Date | null;
  last_failure_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
}

/** Whether a guarded call may run now. */
export interface BreakerPermit {
  allowed: boolean;
  state: BreakerState;
  /** The call is the half-open trial: its outcome closes or re-opens the breaker. */
  trial: boolean;
  /** When an open breaker allows its next trial. */
  retryAt?: Date;
}

/**
 * Asks the breaker `name` for permission to run. State lives in Postgres so every
 * isolate sees it. An open breaker past its cool-down moves to half-open and grants
 * exactly one caller the trial: the UPDATE is the claim, so two isolates cannot both
 * win it. A trial that never reports back (its isolate died) is re-granted after
 * another cool-down.
 */
export async function acquirePermit(
  sql: Tx,
  name: string,
  settings: BreakerSettings,
): Promise<BreakerPermit> {
  const cooldown = `${settings.cooldown_seconds} seconds`;
  // One round trip: the UPDATE claims the trial; the outer SELECT reads the row as it
  // was before (same snapshot), which is what a caller without the trial is told.
  const [row] = await sql<{ trial: boolean; state: BreakerState | null; retry_at: Date | null }[]>`
    with trial as (
      update monitoring_circuit_breakers
      set state = 'half_open', trial_started_at = now(), updated_at = now()
      where name = ${name}
        and ((state = 'open' and opened_at <= now() - ${cooldown}::interval)
          or (state = 'half_open' and trial_started_at <= now() - ${cooldown}::interval))
      returning name
    )
    select exists (select 1 from trial) as trial, b.state,
      coalesce(b.opened_at, b.trial_started_at) + ${cooldown}::interval as retry_at
    from (select 1) as one
    left join monitoring_circuit_breakers b on b.name = ${name}`;
  if (row.trial) return { allowed: true, state: "half_open", trial: true };
  if (!row.state || row.state === "closed") return { allowed: true, state: "closed", trial: false };
  return { allowed: false, state: row.state, trial: false, retryAt: row.retry_at ?? undefined };
}

/**
 * The breakers among `names` that are not closed, with their state. A cycle reads
 * them once at its start: a closed breaker (or one never written) grants its permit
 * without a statement, and only these go through {@linkcode acquirePermit}'s claim.
 */
export async function unclosedBreakers(
  sql: Tx,
  names: readonly string[],
): Promise<Map<string, BreakerState>> {
  const rows = await sql<{ name: string; state: BreakerState }[]>`
    select name, state from monitoring_circuit_breakers
    where name = any(${names as string[]}::text[]) and state <> 'closed'`;
  return new Map(rows.map((row) => [row.name, row.state]));
}

/**
 * Records, in one statement, a success of each of `names` whose call ran with its
 * breaker closed: `last_success_at` moves, and state and failure count stay as they
 * are (what {@linkcode recordSuccess} does to a closed breaker). A breaker another
 * call opened in the meantime therefore stays open; a half-open trial's success
 * goes through {@linkcode recordSuccess}, which closes it.
 */
export async function recordClosedSuccesses(sql: Tx, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  // One statement cannot touch a row twice, so a name listed twice is written once.
  await sql`
    insert into monitoring_circuit_breakers as b (name, last_success_at)
    select name, now() from unnest(${[...new Set(names)]}::text[]) as name
    on conflict (name) do update set last_success_at = now(), updated_at = now()`;
}

/** Records a success: a half-open breaker closes and forgets its failures. */
export async function recordSuccess(sql: Tx, name: string): Promise<BreakerState> {
  const [row] = await sql<{ state: BreakerState }[]>`
    insert into monitoring_circuit_breakers as b (name, last_success_at)
    values (${name}, now())
    on conflict (name) do update set
      state = 'closed',
      failures = case when b.state = 'closed' then b.failures else 0 end,
      window_started_at = case when b.state = 'closed' then b.window_started_at end,
      opened_at = null,
      trial_started_at = null,
      last_success_at = now(),
      updated_at = now()
    returning state`;
  return row.state;
}

/**
 * Records a failure. Failures are counted within `window_seconds`; reaching
 * `failure_threshold` opens the breaker, and a failed half-open trial re-opens it.
 */
export async function recordFailure(
  sql: Tx,
  name: string,
  error: string,
  settings: BreakerSettings,
): Promise<BreakerState> {
  const window = `${settings.window_seconds} seconds`;
  const message = error.slice(0, 1000);
  await sql`
    insert into monitoring_circuit_breakers (name) values (${name}) on conflict (name) do nothing`;
  // Right-hand sides of SET read the row as it was, so the counting is done once per case.
  const [row] = await sql<{ state: BreakerState }[]>`
    with counted as (
      select name, state, opened_at,
        case when window_started_at > now() - ${window}::interval then failures + 1 else 1 end
          as failures,
        case when window_started_at > now() - ${window}::interval then window_started_at
          else now() end as window_started_at
      from monitoring_circuit_breakers where name = ${name}
      for update
    )
    update monitoring_circuit_breakers b set
      failures = c.failures,
      window_started_at = c.window_started_at,
      state = case
        when c.state in ('half_open', 'open') then 'open'
        when c.failures >= ${settings.failure_threshold} then 'open'
        else 'closed' end,
      opened_at = case
        when c.state = 'half_open' or (c.state = 'closed' and c.failures >= ${settings.failure_threshold})
          then now()
        else c.opened_at end,
      trial_started_at = null,
      last_failure_at = now(),
      last_error = ${message},
      updated_at = now()
    from counted c
    where b.name = c.name
    returning b.state`;
  return row.state;
}

/** Closes one breaker, or all of them when `name` is omitted. Returns the names reset. */
export async function resetBreakers(sql: Tx, name?: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    update monitoring_circuit_breakers set
      state = 'closed', failures = 0, window_started_at = null, opened_at = null,
      trial_started_at = null, updated_at = now()
    where ${name === undefined ? sql`true` : sql`name = ${name}`}
    returning name`;
  return rows.map((row) => row.name);
}

/** Every breaker, by name. */
export async function listBreakers(sql: Tx): Promise<BreakerRow[]> {
  return await sql<BreakerRow[]>`
    select name, state, failures, opened_at, last_failure_at, last_success_at, last_error
    from monitoring_circuit_breakers order by name`;
}
