/**
 * `deno task scheduler`: runs the four tiers on their intervals from a process, for
 * self-hosted and local runs without pg_cron. Calls the `monitoring` function through
 * supabase-js (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY), with the intervals the
 * service reports (the `tiers` config row, re-read before each wait) and a random
 * jitter (MONITORING_SCHEDULER_JITTER, a fraction of the interval, default 0.1). A
 * tier still running is never started again; across processes the cycle lease
 * answers 409. Logs JSON lines; stops cleanly on SIGINT/SIGTERM.
 */
import { z } from "zod";
import { createFunctionsCaller } from "../src/cli/functions_client.ts";
import type { FunctionsCaller } from "../src/cli/functions_client.ts";
import type { TierIntervals } from "../src/schedule/tier_scheduler.ts";
import { createLogger, errorMessage } from "../src/log/logger.ts";
import { startTierScheduler } from "../src/schedule/tier_scheduler.ts";
import { fetchTierIntervals, invokeTier } from "../src/schedule/function_tiers.ts";
import { onShutdown } from "../src/dev/on_shutdown.ts";

const log = createLogger({ service: "monitoring-scheduler" });
let call: FunctionsCaller;
let jitter: number;
try {
  call = createFunctionsCaller(Deno.env.toObject());
  jitter = z.coerce.number().min(0).max(1).default(0.1).parse(
    Deno.env.get("MONITORING_SCHEDULER_JITTER") || undefined,
  );
} catch (error) {
  console.error(
    error instanceof z.ZodError ? error.issues.map((i) => i.message).join("\n") : error,
  );
  Deno.exit(2);
}
let intervals: TierIntervals;
try {
  intervals = await fetchTierIntervals(call);
} catch (error) {
  console.error(errorMessage(error));
  Deno.exit(1);
}
log.info("scheduler started", { intervals, jitter });

const scheduler = startTierScheduler({
  intervals: async () => {
    try {
      intervals = await fetchTierIntervals(call);
    } catch (error) {
      log.warn("cannot reload tier intervals; keeping the last ones", {
        error: errorMessage(error),
      });
    }
    return intervals;
  },
  runTier: invokeTier(call, log),
  log,
  jitter,
});

onShutdown(async () => {
  log.info("scheduler stopping; waiting for running cycles", { started: scheduler.started });
  await scheduler.stop();
});
