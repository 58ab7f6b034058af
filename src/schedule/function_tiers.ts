import { z } from "zod";
import type { Tier } from "../detectors/types.ts";
import { TIERS } from "../detectors/types.ts";
import type { FunctionsCaller } from "../cli/functions_client.ts";
import { errorText } from "../cli/functions_client.ts";
import type { Logger } from "../log/logger.ts";
import type { TierIntervals } from "./tier_scheduler.ts";

const statusTiersSchema = z.object({
  tiers: z.record(z.string(), z.object({ interval_seconds: z.number().positive() })),
});

/**
 * Reads the tier intervals the deployed service uses (the `tiers` config row, as
 * `/monitoring/status` reports it), so a scheduler outside the database keeps the
 * same intervals as pg_cron and `/health`'s staleness.
 *
 * @throws {Error} when the status cannot be read.
 */
export async function fetchTierIntervals(call: FunctionsCaller): Promise<TierIntervals> {
  const answer = await call("monitoring/status");
  if (!answer.ok) throw new Error(`Cannot read tier intervals: ${errorText(answer)}`);
  const { tiers } = statusTiersSchema.parse(answer.body);
  return Object.fromEntries(
    TIERS.map((tier) => [tier, tiers[tier]?.interval_seconds ?? 0]),
  ) as TierIntervals;
}

/**
 * Starts one cycle of `tier` through the function, as pg_cron would, and logs the
 * outcome. A 409 (the tier runs elsewhere, e.g. pg_cron too) is expected, not an error.
 */
export function invokeTier(call: FunctionsCaller, log: Logger): (tier: Tier) => Promise<void> {
  return async (tier) => {
    const answer = await call<{ status?: string; duration_ms?: number; totals?: unknown }>(
      "monitoring/cycle",
      { method: "POST", body: { tier }, headers: { "x-monitoring-trigger": "scheduler" } },
    );
    if (answer.ok) {
      log.info("cycle finished", {
        tier,
        status: answer.body.status,
        duration_ms: answer.body.duration_ms,
        totals: answer.body.totals,
      });
    } else if (answer.status === 409) {
      log.info("cycle skipped: tier already running", { tier });
    } else {
      log.warn("cycle refused or failed", { tier, error: errorText(answer) });
    }
  };
}
