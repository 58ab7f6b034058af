import type { PackDefinition } from "../types.ts";
import { exchangeSuccessRate } from "./exchange_success_rate.ts";
import { fallbackRate } from "./fallback_rate.ts";
import { apiLatency } from "./api_latency.ts";
import { endpointErrorRate } from "./endpoint_error_rate.ts";
import { consecutiveApiFailures } from "./consecutive_api_failures.ts";
import { contractCallFailures } from "./contract_call_failures.ts";
import { gasCostSpike } from "./gas_cost_spike.ts";
import { engagementDrop } from "./engagement_drop.ts";

/**
 * The diamond to WLD auto-exchange: request outcomes, API health, contract calls,
 * gas and engagement. Every detector is a window over recent rows, evaluated in the
 * medium tier through time indexes; none needs change capture.
 */
export const exchangePack: PackDefinition = {
  id: "exchange",
  description:
    "Auto-exchange (auto_exchange_requests, fallback_conversion_requests, exchange_audit_log, api_metrics)",
  tables: [
    "auto_exchange_requests",
    "fallback_conversion_requests",
    "exchange_audit_log",
    "api_metrics",
  ],
  detectors: [
    exchangeSuccessRate,
    fallbackRate,
    apiLatency,
    endpointErrorRate,
    consecutiveApiFailures,
    contractCallFailures,
    gasCostSpike,
    engagementDrop,
  ],
  setup: {
    capture: [],
    indexes: [
      {
        name: "monitoring_aer_created_idx",
        table: "auto_exchange_requests",
        // user_id rides along so engagement_drop counts exchangers from the index alone.
        statement: `create index concurrently if not exists monitoring_aer_created_idx
          on auto_exchange_requests (created_at) include (status, user_id)`,
      },
      {
        name: "monitoring_eal_ts_idx",
        table: "exchange_audit_log",
        statement: `create index concurrently if not exists monitoring_eal_ts_idx
          on exchange_audit_log ("timestamp")`,
      },
      {
        name: "monitoring_api_created_idx",
        table: "api_metrics",
        statement: `create index concurrently if not exists monitoring_api_created_idx
          on api_metrics (created_at) include (endpoint, status_code, response_time_ms)`,
      },
      {
        name: "monitoring_api_endpoint_created_idx",
        table: "api_metrics",
        statement: `create index concurrently if not exists monitoring_api_endpoint_created_idx
          on api_metrics (endpoint, created_at desc, id desc) include (status_code)`,
      },
    ],
  },
};
