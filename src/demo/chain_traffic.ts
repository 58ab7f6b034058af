import { parseEther } from "ethers";
import type { TransactionReceipt } from "ethers";
import type { Sql } from "../db/client.ts";
import { createPlatformTables } from "../../tests/fixtures/platform_tables.ts";
import type { PackTraffic, PlantedAnomaly, TrafficOptions } from "./pack_traffic.ts";
import { startLocalChain } from "./local_chain.ts";
import type { EscrowContract } from "./escrow_contract.ts";

/** A local chain with a deployed escrow, and the demo traffic that plants chain anomalies. */
export interface ChainDemo {
  /** Give these to the monitoring functions' environment before they start. */
  env: { CHAIN_RPC_URL: string; ESCROW_CONTRACT_ADDRESS: string };
  traffic: PackTraffic;
  /** Stops the node. */
  stop(): Promise<void>;
}

const MAX_BALANCE_ETHER = "10";

/**
 * Starts a local EVM node on loopback, deploys the escrow, and returns the chain
 * pack's demo traffic:
 * - `generate`: 12 ether deposited (over the 10 allowed), the escrow paused, a release
 *   that reverts (status 0) and one that succeeds; `receipt_mismatch` is set to skip
 *   the backfill (the exchange and trades demos' hashes are made up) and to call a
 *   receipt missing at once;
 * - `late` (after the first cycles): an exchange request and a trades fill marked
 *   completed with the reverted hash and with a hash no block holds, and look-alikes
 *   completed with the succeeded hash.
 *
 * @throws {Error} when the node cannot start here (the demo then runs without chain checks).
 */
export async function startChainDemo(): Promise<ChainDemo> {
  const chain = await startLocalChain();
  try {
    const { escrow, escrowAddress: address, payee, provider, mined } = chain;
    const receipts: { reverted?: TransactionReceipt; succeeded?: TransactionReceipt } = {};
    const traffic: PackTraffic = {
      pack: "chain",
      createTables: (sql) => createPlatformTables(sql, ["exchange", "trades"]),
      async generate(sql: Sql): Promise<PlantedAnomaly[]> {
        await configureChainDetectors(sql);
        await onChain(escrow, mined, payee, receipts);
        return [
          {
            pack: "chain",
            label: `escrow ${address} paused`,
            expect: [{ detector: "contract_paused", severity: "CRITICAL", subject: address }],
          },
          {
            pack: "chain",
            label: `escrow holding 12 ether (${MAX_BALANCE_ETHER} allowed)`,
            expect: [{ detector: "escrow_balance", severity: "HIGH", subject: address }],
          },
        ];
      },
      async late(sql: Sql, { now }: TrafficOptions): Promise<PlantedAnomaly[]> {
        const { reverted, succeeded } = receipts;
        if (!reverted || !succeeded) throw new Error("chain traffic: generate() must run first");
        const lost = `0x${"de".repeat(32)}`;
        const [request] = await sql<{ id: string }[]>`
          insert into auto_exchange_requests (user_id, diamond_amount, wld_target, wld_received,
            status, tx_hash, created_at, updated_at)
          values (gen_random_uuid(), 300, 4.5, 4.5, 'completed', ${reverted.hash}, ${now}, ${now})
          returning id::text`;
        const [fill] = await sql<{ id: string }[]>`
          insert into trades_fills (order_id, taker_address, status, tx_hash, created_at)
          values (gen_random_uuid(), ${payee}, 'completed', ${lost}, ${now})
          returning id::text`;
        await sql`
          insert into auto_exchange_requests (user_id, diamond_amount, status, tx_hash,
            created_at, updated_at)
          values (gen_random_uuid(), 100, 'completed', ${succeeded.hash}, ${now}, ${now})`;
        await sql`
          insert into trades_fills (order_id, taker_address, status, tx_hash, created_at)
          values (gen_random_uuid(), ${payee}, 'completed', ${succeeded.hash}, ${now})`;
        return [
          {
            pack: "chain",
            label: "exchange request completed with a reverted transaction",
            expect: [{ detector: "receipt_mismatch", severity: "CRITICAL", subject: request.id }],
          },
          {
            pack: "chain",
            label: "trades fill completed with a transaction no block holds",
            expect: [{ detector: "receipt_mismatch", severity: "CRITICAL", subject: fill.id }],
          },
        ];
      },
      async figures() {
        const [balance, block] = await Promise.all([
          provider.getBalance(address),
          provider.getBlockNumber(),
        ]);
        return [
          { label: "escrow contract", value: address },
          { label: "escrow balance (wei)", value: balance.toString() },
          { label: "chain blocks", value: block },
        ];
      },
    };
    return { env: chain.env, traffic, stop: chain.stop };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/** Thresholds for the demo, set as operators do: rows in `monitoring_config`. */
async function configureChainDetectors(sql: Sql) {
  const rows = [
    { key: "detector.escrow_balance", value: { max_balance_ether: MAX_BALANCE_ETHER } },
    { key: "detector.receipt_mismatch", value: { backfill_hours: 0, grace_seconds: 0 } },
  ];
  for (const { key, value } of rows) {
    await sql`
      insert into monitoring_config (key, value) values (${key}, ${sql.json(value)})
      on conflict (key) do update set value = monitoring_config.value || excluded.value`;
  }
}

/** Deposits over the limit, makes a reverted and a succeeded release, then pauses. */
async function onChain(
  escrow: EscrowContract,
  mined: (sent: Promise<{ hash: string }>) => Promise<TransactionReceipt>,
  payee: string,
  receipts: { reverted?: TransactionReceipt; succeeded?: TransactionReceipt },
) {
  await mined(escrow.deposit({ value: parseEther("13") }));
  // More than the escrow holds: reverts. The gas limit is given so it is mined (status 0).
  receipts.reverted = await mined(escrow.release(payee, parseEther("100"), { gasLimit: 200_000n }));
  receipts.succeeded = await mined(escrow.release(payee, parseEther("1"), { gasLimit: 200_000n }));
  await mined(escrow.pause());
}
