import type { ConfigSpec } from "./runtime_config.ts";
import type { PackDefinition } from "../detectors/types.ts";
import { coreConfigSpecs } from "./core_config.ts";
import { alertsConfig } from "../alerts/alert_config.ts";
import { allDetectors, detectorConfigSpec } from "../detectors/registry.ts";

/** Every `monitoring_config` key the service reads, for loading, seeding and docs. */
export function allConfigSpecs(packs: readonly PackDefinition[]): ConfigSpec[] {
  return [...coreConfigSpecs, alertsConfig, ...allDetectors(packs).map(detectorConfigSpec)];
}
