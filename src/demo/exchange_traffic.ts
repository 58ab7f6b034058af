import type { Sql } from "../db/client.ts";
import { createPlatformTables } from "../../tests/fixtures/platform_tables.ts";
import type { PackTraffic, PlantedAnomaly, TrafficOptions } from "./pack_traffic.ts";

/** The clean API endpoints, each called every ten seconds for the last two hours. */
const ENDPOINTS = {
  quote: "/api/exchange/quote",
  execute: "/api/exchange/execute",
  walletLink: "/api/wallet/link",
  balance: "/api/balance",
  history: "/api/history",
} as const;

/** A day must be this old (in UTC, the detectors' default) before a gas spike can show. */
const GAS_PLANT_MIN_ELAPSED_MINUTES = 90;

/**
 * The auto-exchange's demo traffic, generated set-based in SQL:
 * - a week and a day of exchange requests (one a minute, 500 regular users, about 2 %
 *   failed and 1 % fallback), contract calls every two minutes with their gas cost,
 *   and two hours of API calls to five endpoints;
 * - planted: a fallback spike in the last hour (which also drags the success rate
 *   down), a slow quote endpoint for the last 20 minutes, server errors on the
 *   execute endpoint, a wallet endpoint whose last four calls failed, failing
 *   contract calls, and gas at three times its usual price today (only once the UTC
 *   day is old enough to compare with the same part of previous days);
 * - look-alikes: rare isolated 503s on every endpoint, steady engagement.
 *
 * Patterns are deterministic (`i % n`), so no streak happens by chance.
 */
export function exchangeTraffic(): PackTraffic {
  return {
    pack: "exchange",
    createTables: (sql) => createPlatformTables(sql, ["exchange"]),

    async generate(sql: Sql, { now }: TrafficOptions): Promise<PlantedAnomaly[]> {
      const utcMidnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
      const gasSpike = (now.getTime() - utcMidnight) / 60_000 >= GAS_PLANT_MIN_ELAPSED_MINUTES;
      await sql.begin(async (tx) => {
        // Requests: one a minute for eight days; a fallback spike in the last hour.
        await tx`
          insert into auto_exchange_requests (user_id, diamond_amount, wld_target, wld_received,
            status, error_message, tx_hash, created_at, updated_at)
          select md5('user' || (i * 7919 % 500))::uuid, 100 + i % 400, (100 + i % 400) * 0.015,
            case when s = 'completed' then (100 + i % 400) * 0.015 end, s,
            case when s = 'failed' then 'slippage above limit' end,
            case when s = 'completed' then '0x' || md5('tx' || i) end, at, at + interval '20 seconds'
          from generate_series(1, 8 * 1440) as i,
            lateral (select ${now}::timestamptz - i * interval '1 minute' as at) t,
            lateral (select case when i % 50 = 0 then 'failed' when i % 97 = 0 then 'fallback'
              else 'completed' end as s) st`;
        await tx`
          insert into auto_exchange_requests (user_id, diamond_amount, wld_target, status,
            error_message, created_at, updated_at)
          select md5('fallback-user' || i)::uuid, 250, 3.75, 'fallback', 'DEX liquidity too low',
            ${now}::timestamptz - i * interval '130 seconds',
            ${now}::timestamptz - i * interval '130 seconds'
          from generate_series(1, 25) as i`;
        await tx`
          insert into fallback_conversion_requests (request_id, user_id, diamond_amount, status,
            created_at)
          select id, user_id, diamond_amount, 'queued', created_at
          from auto_exchange_requests where status = 'fallback'`;

        // API calls: every endpoint every ten seconds for two hours.
        await tx`
          insert into api_metrics (endpoint, method, status_code, response_time_ms, created_at)
          select e.endpoint, 'POST',
            case
              when e.endpoint = ${ENDPOINTS.walletLink} and i <= 4 then 503
              when e.endpoint = ${ENDPOINTS.execute} and i <= 360 and i % 8 = 0 then 503
              when i % 150 = 75 then 503
              else 200 end,
            case
              when e.endpoint = ${ENDPOINTS.quote} and i <= 120 then 2300 + (i * 37) % 500
              else 80 + (i * 37) % 300 end,
            ${now}::timestamptz - i * interval '10 seconds' - e.n * interval '1 second'
          from generate_series(1, 720) as i,
            unnest(${Object.values(ENDPOINTS)}::text[]) with ordinality as e(endpoint, n)`;

        // Contract calls every two minutes for eight days, priced in gas.
        await tx`
          insert into exchange_audit_log (user_id, request_id, action, status, details,
            "timestamp", created_at)
          select md5('user' || (i * 7919 % 500))::uuid, gen_random_uuid(), 'contract_call',
            case when failed then 'error' else 'success' end,
            jsonb_build_object(
              'gas_used', 52000 + i % 4000,
              'gas_cost', round((0.002 + (i % 5) * 0.0001)
                * case when ${gasSpike} and at >= date_trunc('day', ${now}::timestamptz
                  at time zone 'UTC') at time zone 'UTC' then 3 else 1 end, 6),
              'error', case when failed then 'execution reverted: price moved' end),
            at, at
          from generate_series(1, 8 * 720) as i,
            lateral (select ${now}::timestamptz - i * interval '2 minutes' as at) t,
            lateral (select case when i <= 30 then i % 6 = 0 else i % 40 = 0 end as failed) f`;
      });

      const exchange = (detector: string, severity: "CRITICAL" | "HIGH" | "MEDIUM") => ({
        detector,
        severity,
        subject: "exchange",
      });
      const plants: PlantedAnomaly[] = [
        {
          pack: "exchange",
          label: "25 requests fell back to slow conversion in the last hour",
          expect: [
            exchange("fallback_rate", "CRITICAL"),
            exchange("exchange_success_rate", "HIGH"),
          ],
        },
        {
          pack: "exchange",
          label: "quote endpoint answering in 2.3-2.8 s for 20 minutes",
          expect: [{ detector: "api_latency", severity: "HIGH", subject: ENDPOINTS.quote }],
        },
        {
          pack: "exchange",
          label: "execute endpoint failing 1 call in 8 for an hour",
          expect: [
            { detector: "endpoint_error_rate", severity: "HIGH", subject: ENDPOINTS.execute },
          ],
        },
        {
          pack: "exchange",
          label: "wallet-link endpoint: last 4 calls answered 503",
          expect: [{
            detector: "consecutive_api_failures",
            severity: "CRITICAL",
            subject: ENDPOINTS.walletLink,
          }],
        },
        {
          pack: "exchange",
          label: "1 contract call in 6 reverted in the last hour",
          expect: [exchange("contract_call_failures", "HIGH")],
        },
      ];
      if (gasSpike) {
        plants.push({
          pack: "exchange",
          label: "gas at 3x its usual price since midnight UTC",
          expect: [exchange("gas_cost_spike", "MEDIUM")],
        });
      }
      return plants;
    },

    async figures(sql: Sql) {
      const [f] = await sql<{
        requests: number;
        completed: number;
        fallback: number;
        users: number;
        api_calls: number;
        contract_calls: number;
        gas_today: number;
      }[]>`
        select count(*)::int as requests,
          count(*) filter (where status = 'completed')::int as completed,
          count(*) filter (where status = 'fallback')::int as fallback,
          count(distinct user_id)::int as users,
          (select count(*)::int from api_metrics) as api_calls,
          (select count(*)::int from exchange_audit_log where action = 'contract_call')
            as contract_calls,
          (select coalesce(sum((details->>'gas_cost')::numeric), 0)::float8
            from exchange_audit_log
            where "timestamp" >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')
            as gas_today
        from auto_exchange_requests`;
      return [
        { label: "exchange requests (8 days)", value: f.requests },
        {
          label: "exchange success rate",
          value: `${(f.completed * 100 / f.requests).toFixed(1)} %`,
        },
        { label: "fallback requests", value: f.fallback },
        { label: "exchangers", value: f.users },
        { label: "API calls (2 h, 5 endpoints)", value: f.api_calls },
        { label: "contract calls (8 days)", value: f.contract_calls },
        { label: "gas cost today", value: f.gas_today.toFixed(4) },
      ];
    },
  };
}
