import { z } from "zod";
import type { Detector, PackDefinition, Tier } from "./types.ts";
import { defineConfig } from "../config/runtime_config.ts";
import type { ConfigSpec } from "../config/runtime_config.ts";
import { corePack } from "./core/pack.ts";
import { festivalPack } from "./festival/pack.ts";
import { exchangePack } from "./exchange/pack.ts";
import { tradesPack } from "./trades/pack.ts";
import { chainPack } from "./chain/pack.ts";

/** Every pack the service ships, in the order their detectors run. */
export const PACKS: readonly PackDefinition[] = [
  festivalPack,
  exchangePack,
  tradesPack,
  chainPack,
  corePack,
];

/** Every detector of `packs`. */
export function allDetectors(packs: readonly PackDefinition[] = PACKS): Detector[] {
  return packs.flatMap((pack) => [...pack.detectors]);
}

/** The pack a detector belongs to. */
export function packOf(
  detector: Detector,
  packs: readonly PackDefinition[] = PACKS,
): PackDefinition {
  const pack = packs.find((candidate) => candidate.detectors.includes(detector));
  if (!pack) throw new Error(`Cannot find pack of detector '${detector.id}'`);
  return pack;
}

const specCache = new WeakMap<Detector, ConfigSpec>();

/**
 * The `monitoring_config` key of a detector: `detector.<id>`, holding `enabled` and
 * its thresholds (tuned with an UPDATE, as the runbooks do).
 */
export function detectorConfigSpec(detector: Detector): ConfigSpec<z.ZodObject> {
  let spec = specCache.get(detector);
  if (!spec) {
    spec = defineConfig(
      `detector.${detector.id}`,
      detector.description,
      detector.config.extend({ enabled: z.boolean().default(true) }),
    );
    specCache.set(detector, spec);
  }
  return spec as ConfigSpec<z.ZodObject>;
}

/** The tiers a detector runs in, with its mode in each. */
export function tiersOf(detector: Detector): { tier: Tier; mode: "incremental" | "sweep" }[] {
  const tiers: { tier: Tier; mode: "incremental" | "sweep" }[] = [
    { tier: detector.tier, mode: "incremental" },
  ];
  if (detector.sweepTier) tiers.push({ tier: detector.sweepTier, mode: "sweep" });
  return tiers;
}
