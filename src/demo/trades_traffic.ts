import type { Sql } from "../db/client.ts";
import { createPlatformTables } from "../../tests/fixtures/platform_tables.ts";
import type { PackTraffic, PlantedAnomaly, TrafficOptions } from "./pack_traffic.ts";

/** A maker address made from a label, so planted makers read well in the report. */
function address(label: string): string {
  return `0x${label.padEnd(40, "0")}`;
}

const MAKERS = {
  busy: address("b0b"),
  risky: address("bad"),
  atTheLimit: address("ed9e"),
};

/**
 * The trades platform's demo traffic, generated set-based in SQL:
 * - three hours of orders (one every 20 s from 150 makers, risk 5-64) and fills (one
 *   every 30 s, 1 % failed);
 * - planted: fourteen risky orders from seven makers in the last hour, a maker placing
 *   fifteen orders in under two hours, a maker whose orders average risk 88, a burst
 *   of failing fills, and the kill switch turned off 25 minutes ago;
 * - look-alikes: a maker with exactly ten orders, makers with two very risky orders
 *   each (risky orders, not yet a risky maker).
 */
export function tradesTraffic(): PackTraffic {
  return {
    pack: "trades",
    createTables: (sql) => createPlatformTables(sql, ["trades"]),

    async generate(sql: Sql, { now }: TrafficOptions): Promise<PlantedAnomaly[]> {
      await sql.begin(async (tx) => {
        await tx`
          insert into trades_orders (maker_address, taker_address, status, risk_score, value_usd,
            created_at, expires_at)
          select '0x' || lpad(to_hex(1000 + i % 150), 40, '0'),
            case when i % 3 = 0 then '0x' || lpad(to_hex(9000 + i % 70), 40, '0') end,
            case when i % 3 = 0 then 'filled' when i % 11 = 0 then 'cancelled' else 'open' end,
            5 + (i * 37) % 60, 20 + (i * 53) % 900, at, at + interval '1 day'
          from generate_series(1, 540) as i,
            lateral (select ${now}::timestamptz - i * interval '20 seconds' as at) t`;
        await tx`
          insert into trades_fills (order_id, taker_address, status, tx_hash, created_at)
          select gen_random_uuid(), '0x' || lpad(to_hex(9000 + i % 70), 40, '0'), s,
            case when s = 'completed' then '0x' || md5('fill' || i) end,
            ${now}::timestamptz - i * interval '30 seconds'
          from generate_series(1, 360) as i,
            lateral (select case when i % 100 = 50 then 'failed' else 'completed' end as s) st`;

        // Planted orders: (maker, count, risk, minutes over which they spread).
        const planted = [
          ...Array.from({ length: 7 }, (_, k) => [address(`ace${k}`), 2, 85, 50] as const),
          [MAKERS.busy, 15, 20, 100] as const,
          [MAKERS.risky, 4, 88, 90] as const,
          [MAKERS.atTheLimit, 10, 30, 110] as const,
        ];
        await tx`
          insert into trades_orders (maker_address, status, risk_score, value_usd, created_at,
            expires_at)
          select p.maker, 'open', p.risk, 1500,
            ${now}::timestamptz - (j * p.minutes * 60.0 / p.orders) * interval '1 second',
            ${now}::timestamptz + interval '1 day'
          from unnest(${planted.map((p) => p[0])}::text[], ${planted.map((p) => p[1])}::int[],
              ${planted.map((p) => p[2])}::int[], ${planted.map((p) => p[3])}::int[])
            as p(maker, orders, risk, minutes),
            generate_series(1, p.orders) as j`;

        // A burst of fills failing to settle in the last hour.
        await tx`
          insert into trades_fills (order_id, taker_address, status, created_at)
          select gen_random_uuid(), '0x' || lpad(to_hex(9500 + i), 40, '0'),
            case when i % 4 = 0 then 'failed' else 'completed' end,
            ${now}::timestamptz - i * interval '80 seconds'
          from generate_series(1, 40) as i`;

        await tx`
          insert into trades_config (key, value, updated_at) values
            ('TRADES_ENABLED', 'false', ${now}::timestamptz - interval '25 minutes'),
            ('MAX_ORDER_USD', '5000', ${now}::timestamptz - interval '3 days')
          on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`;
      });

      const trades = (detector: string) => ({
        detector,
        severity: "HIGH" as const,
        subject: "trades",
      });
      return [
        {
          pack: "trades",
          label: "14 orders with risk 85 from 7 makers in the last hour",
          expect: [trades("high_risk_order_volume")],
        },
        {
          pack: "trades",
          label: "maker placing 15 orders in 100 minutes",
          expect: [{ detector: "suspicious_maker", severity: "MEDIUM", subject: MAKERS.busy }],
        },
        {
          pack: "trades",
          label: "maker whose 4 orders average risk 88",
          expect: [{ detector: "suspicious_maker", severity: "MEDIUM", subject: MAKERS.risky }],
        },
        {
          pack: "trades",
          label: "1 fill in 4 failing over the last hour",
          expect: [trades("fill_failure_rate")],
        },
        {
          pack: "trades",
          label: "kill switch TRADES_ENABLED = 'false' for 25 minutes",
          expect: [{ detector: "kill_switch_state", severity: "HIGH", subject: "TRADES_ENABLED" }],
        },
      ];
    },

    async figures(sql: Sql) {
      const [f] = await sql<{
        orders: number;
        makers: number;
        risky: number;
        fills: number;
        failed: number;
        enabled: string | null;
      }[]>`
        select count(*)::int as orders, count(distinct maker_address)::int as makers,
          count(*) filter (where risk_score > 70)::int as risky,
          (select count(*)::int from trades_fills) as fills,
          (select count(*) filter (where status = 'failed')::int from trades_fills) as failed,
          (select value from trades_config where key = 'TRADES_ENABLED') as enabled
        from trades_orders`;
      return [
        { label: "orders (3 h)", value: f.orders },
        { label: "makers", value: f.makers },
        { label: "orders with risk > 70", value: f.risky },
        { label: "fills (3 h)", value: f.fills },
        { label: "failed fills", value: f.failed },
        { label: "TRADES_ENABLED", value: f.enabled ?? "(unset)" },
      ];
    },
  };
}
