import type { PackDefinition } from "../types.ts";
import { highRiskOrderVolume } from "./high_risk_order_volume.ts";
import { fillFailureRate } from "./fill_failure_rate.ts";
import { suspiciousMaker } from "./suspicious_maker.ts";
import { killSwitchState } from "./kill_switch_state.ts";

/**
 * Peer-to-peer NFT/token trades: risky orders, failing fills, odd makers and the kill
 * switch. Windows over recent rows in the medium tier; no change capture needed.
 */
export const tradesPack: PackDefinition = {
  id: "trades",
  description: "Peer-to-peer trades (trades_orders, trades_fills, trades_config)",
  tables: ["trades_orders", "trades_fills", "trades_config"],
  detectors: [highRiskOrderVolume, fillFailureRate, suspiciousMaker, killSwitchState],
  setup: {
    capture: [],
    indexes: [
      {
        name: "monitoring_orders_created_idx",
        table: "trades_orders",
        statement: `create index concurrently if not exists monitoring_orders_created_idx
          on trades_orders (created_at) include (maker_address, risk_score, value_usd)`,
      },
      {
        name: "monitoring_fills_created_idx",
        table: "trades_fills",
        statement: `create index concurrently if not exists monitoring_fills_created_idx
          on trades_fills (created_at) include (status)`,
      },
    ],
  },
};
