import { z } from "zod";
import type { Detector, PackDefinition, RunMode, Tier } from "../detectors/types.ts";
import { TIERS, tierSchema } from "../detectors/types.ts";
import { allDetectors, tiersOf } from "../detectors/registry.ts";

/** Body of `POST /monitoring/cycle`; every field optional. */
export const cycleRequestSchema = z.object({
  tier: tierSchema.optional(),
  detectors: z.array(z.string().min(1)).min(1).max(100).optional(),
  dry_run: z.boolean().default(false),
}).strict();
export type CycleRequest = z.input<typeof cycleRequestSchema>;

/** One detector to run, in one tier, in one mode. */
export interface PlannedRun {
  detector: Detector;
  pack: PackDefinition;
  tier: Tier;
  mode: RunMode;
}

/** A request that names something that does not exist; the HTTP layer answers 400. */
export class PlanError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/**
 * Turns a cycle request into the ordered list of runs: the named tier (or every
 * tier), narrowed to the named detectors. A detector named outside the tier it runs
 * in, or unknown, is refused rather than silently ignored.
 */
export function planCycle(
  packs: readonly PackDefinition[],
  request: { tier?: Tier; detectors?: string[] },
): { tiers: Tier[]; runs: PlannedRun[] } {
  const detectors = allDetectors(packs);
  const known = new Set(detectors.map((detector) => detector.id));
  const unknown = (request.detectors ?? []).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new PlanError(
      "detectors",
      `Cannot find detector${unknown.length > 1 ? "s" : ""}: ${
        unknown.map((id) => `'${id}'`).join(", ")
      }`,
    );
  }
  const wanted = request.detectors ? new Set(request.detectors) : null;
  const runs: PlannedRun[] = [];
  for (const tier of request.tier ? [request.tier] : TIERS) {
    for (const pack of packs) {
      for (const detector of pack.detectors) {
        if (wanted && !wanted.has(detector.id)) continue;
        const placement = tiersOf(detector).find((entry) => entry.tier === tier);
        if (placement) runs.push({ detector, pack, tier, mode: placement.mode });
      }
    }
  }
  if (request.tier && wanted) {
    const planned = new Set(runs.map((run) => run.detector.id));
    const outside = [...wanted].filter((id) => !planned.has(id));
    if (outside.length > 0) {
      throw new PlanError(
        "detectors",
        `Detector ${
          outside.map((id) => `'${id}'`).join(", ")
        } does not run in tier '${request.tier}'`,
      );
    }
  }
  // With detectors named and no tier, each runs once: incrementally, in its own tier.
  const deduped = wanted && !request.tier ? runs.filter((run) => run.mode === "incremental") : runs;
  // A cycle of a named tier, or of everything, covers those tiers even where no
  // detector runs, so /health does not report an empty tier as never run.
  const tiers = request.tier
    ? [request.tier]
    : wanted
    ? [...new Set(deduped.map((run) => run.tier))]
    : [...TIERS];
  return { tiers, runs: deduped };
}
