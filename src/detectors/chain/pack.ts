import type { PackDefinition } from "../types.ts";
import { readChainEnv } from "./chain_env.ts";
import { contractPaused } from "./contract_paused.ts";
import { escrowBalance } from "./escrow_balance.ts";
import { receiptMismatch } from "./receipt_mismatch.ts";

/**
 * On-chain state through ethers: the escrow contract's `paused()` flag and balance,
 * and the receipts of rows the exchange and trades platforms marked completed.
 * Configured by `CHAIN_RPC_URL` (required) and `ESCROW_CONTRACT_ADDRESS`
 * (comma-separated; without it only the receipts are checked).
 */
export const chainPack: PackDefinition = {
  id: "chain",
  description: "On-chain state over JSON-RPC (escrow paused flag and balance, tx receipts)",
  // No table of its own: the receipts check reads whichever source tables exist.
  tables: [],
  detectors: [contractPaused, escrowBalance, receiptMismatch],
  availability(_sql, env) {
    const settings = readChainEnv(env);
    if (!settings.ok) {
      return Promise.resolve({ available: false, reason: settings.reason, warnings: [] });
    }
    const warnings = settings.env.ESCROW_CONTRACT_ADDRESS
      ? []
      : ["ESCROW_CONTRACT_ADDRESS is not set: contract_paused and escrow_balance check nothing"];
    return Promise.resolve({ available: true, warnings });
  },
  setup: {
    capture: [
      { table: "auto_exchange_requests", keyColumn: "id", optional: true },
      { table: "trades_fills", keyColumn: "id", optional: true },
    ],
    indexes: [],
  },
};
