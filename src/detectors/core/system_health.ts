import { z } from "zod";
import { defineDetector } from "../types.ts";
import { healthConfig } from "../../config/core_config.ts";
import { takeHealthSnapshot } from "../../health/snapshot.ts";

/**
 * The meta-monitoring heartbeat: every health cycle writes a
 * `system_health_snapshots` row and keeps one live `system_health` event current,
 * so a silent monitor is itself visible.
 */
export const systemHealth = defineDetector({
  id: "system_health",
  pack: "core",
  eventType: "system_health",
  severity: "LOW",
  kind: "state",
  tier: "health",
  description: "Health snapshot and heartbeat event, written by every health cycle",
  config: z.object({}),
  async run(ctx) {
    const snapshot = await takeHealthSnapshot(ctx.sql, ctx.runtime.get(healthConfig));
    return {
      rowsExamined: snapshot.total_transactions_last_hour,
      report: { snapshot_id: snapshot.snapshot_id, status: snapshot.overall_health_status },
      findings: [{
        fingerprint: "heartbeat",
        title: `System health ${snapshot.overall_health_status}: ${
          snapshot.reasons.join("; ") || "all checks pass"
        }`,
        entityType: "system",
        entityId: "monitoring",
        context: { ...snapshot },
      }],
    };
  },
});
