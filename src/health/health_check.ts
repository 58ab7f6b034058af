import type { Sql } from "../db/client.ts";
import { errorMessage } from "../log/logger.ts";
import { loadRuntimeConfig } from "../config/runtime_config.ts";
import { tierConfig } from "../config/core_config.ts";
import { TIERS } from "../detectors/types.ts";
import type { Tier } from "../detectors/types.ts";
import { CYCLE_BREAKER } from "../cycle/run_cycle.ts";

class HealthTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** One tier's freshness: stale once three intervals pass without a recorded cycle. */
export interface TierFreshness {
  status: "fresh" | "stale" | "never_run";
  interval_seconds: number;
  last_started_at: string | null;
  last_status: string | null;
  seconds_since: number | null;
}

/** The answer of `/health`. */
export interface HealthReport {
  status: "healthy" | "degraded" | "unhealthy";
  checked_at: string;
  checks: {
    database: { status: "up" | "down"; latency_ms: number; error?: string };
    tiers?: Record<Tier, TierFreshness>;
    circuit_breaker?: { state: string; open_breakers: string[] };
  };
  reasons: string[];
}

/** Freshness of every tier, from the cycles the service recorded itself. */
export async function tierFreshness(sql: Sql): Promise<Record<Tier, TierFreshness>> {
  const config = await loadRuntimeConfig(sql, [tierConfig]);
  const intervals = config.get(tierConfig);
  const rows = await sql<{ tier: Tier; started_at: Date; status: string; seconds_since: number }[]>`
    select t.tier, c.started_at, c.status, extract(epoch from now() - c.started_at) as seconds_since
    from unnest(${TIERS as Tier[]}::text[]) as t(tier)
    cross join lateral (
      select started_at, status from monitoring_cycles
      where t.tier = any(tiers) and status <> 'dry_run'
      order by started_at desc limit 1
    ) c`;
  const byTier = new Map(rows.map((row) => [row.tier, row]));
  return Object.fromEntries(TIERS.map((tier) => {
    const row = byTier.get(tier);
    const interval = intervals[tier];
    const freshness: TierFreshness = row
      ? {
        status: row.seconds_since > 3 * interval ? "stale" : "fresh",
        interval_seconds: interval,
        last_started_at: row.started_at.toISOString(),
        last_status: row.status,
        seconds_since: Math.round(row.seconds_since),
      }
      : {
        status: "never_run",
        interval_seconds: interval,
        last_started_at: null,
        last_status: null,
        seconds_since: null,
      };
    return [tier, freshness];
  })) as Record<Tier, TierFreshness>;
}

/**
 * Checks the database (with a hard time bound, so `/health` answers within 2 s even
 * when the database hangs), tier freshness and breakers. Unreachable database:
 * unhealthy; a stale or never-run tier or an open breaker: degraded.
 */
export async function checkHealth(
  getSql: () => Sql,
  options: { timeoutMs?: number } = {},
): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const checkedAt = new Date().toISOString();
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Once `select 1` answers the database is reachable, whatever fails after it.
  let answered = false;
  try {
    const sql = getSql();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HealthTimeout(timeoutMs)), timeoutMs);
    });
    const probe = (async () => {
      await sql`select 1`;
      answered = true;
      const latency = Math.round(performance.now() - started);
      const tiers = await tierFreshness(sql);
      const breakers = await sql<{ name: string; state: string }[]>`
        select name, state from monitoring_circuit_breakers where state <> 'closed' order by name`;
      return { latency, tiers, breakers };
    })();
    const { latency, tiers, breakers } = await Promise.race([probe, deadline]);
    const reasons: string[] = [];
    for (const [tier, freshness] of Object.entries(tiers)) {
      if (freshness.status === "stale") {
        reasons.push(`tier ${tier} stale (${freshness.seconds_since}s since last cycle)`);
      }
      if (freshness.status === "never_run") reasons.push(`tier ${tier} has never run`);
    }
    for (const breaker of breakers) reasons.push(`breaker ${breaker.name} ${breaker.state}`);
    const cycleBreaker = breakers.find((b) => b.name === CYCLE_BREAKER)?.state ?? "closed";
    return {
      status: reasons.length ? "degraded" : "healthy",
      checked_at: checkedAt,
      checks: {
        database: { status: "up", latency_ms: latency },
        tiers,
        circuit_breaker: { state: cycleBreaker, open_breakers: breakers.map((b) => b.name) },
      },
      reasons,
    };
  } catch (error) {
    // A database that answers with an error (say, an unmigrated schema) is up, and
    // saying "unreachable" would send the operator to the wrong place.
    const reason = !answered
      ? "database unreachable"
      : error instanceof HealthTimeout
      ? "health queries timed out"
      : "health queries failed: are the monitoring migrations applied?";
    return {
      status: "unhealthy",
      checked_at: checkedAt,
      checks: {
        database: {
          status: answered ? "up" : "down",
          latency_ms: Math.round(performance.now() - started),
          error: errorMessage(error),
        },
      },
      reasons: [reason],
    };
  } finally {
    clearTimeout(timer);
  }
}
