import type { PackDefinition } from "../types.ts";
import { systemHealth } from "./system_health.ts";
import { refreshViews, retentionCleanup } from "./maintenance.ts";

/** The service watching itself: heartbeat and maintenance. Always available. */
export const corePack: PackDefinition = {
  id: "core",
  description: "The monitoring service itself: health snapshots, heartbeat, maintenance",
  tables: [],
  detectors: [systemHealth, retentionCleanup, refreshViews],
};
