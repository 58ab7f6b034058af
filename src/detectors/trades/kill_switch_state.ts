import { z } from "zod";
import { defineDetector } from "../types.ts";

/**
 * The trades kill switch, kept visible: while `trades_config` holds `key` with the
 * value 'false' (any case, surrounding spaces ignored) trading is off, and an event
 * stays open so nobody forgets it. A missing row or any other value means trading is
 * on. The event resolves itself once the switch is turned back on.
 */
export const killSwitchState = defineDetector({
  id: "kill_switch_state",
  pack: "trades",
  eventType: "kill_switch",
  severity: "HIGH",
  kind: "state",
  tier: "medium",
  description: "TRADES_ENABLED = 'false' in trades_config (trading is switched off)",
  config: z.object({
    key: z.string().min(1).default("TRADES_ENABLED"),
  }),
  async run(ctx) {
    const rows = await ctx.sql<{ value: string | null; updated_at: Date | null }[]>`
      select value, updated_at from trades_config where key = ${ctx.config.key}`;
    const switchedOff = rows.filter((row) => row.value?.trim().toLowerCase() === "false");
    return {
      rowsExamined: rows.length,
      clearedNote: `${ctx.config.key} is no longer 'false': trading is back on, resolved`,
      findings: switchedOff.map((row) => ({
        fingerprint: `config:${ctx.config.key}`,
        title: `Trading is switched off (${ctx.config.key} = '${row.value}' since ${
          row.updated_at?.toISOString() ?? "an unknown time"
        })`,
        occurredAt: row.updated_at ?? undefined,
        entityType: "config",
        entityId: ctx.config.key,
        context: { key: ctx.config.key, value: row.value, updated_at: row.updated_at },
      })),
    };
  },
});
