import { z } from "zod";
import { Contract } from "ethers";
import { defineDetector } from "../types.ts";
import type { Finding } from "../types.ts";
import { rpcSettings } from "./chain_client.ts";
import { withChain } from "./with_chain.ts";

const PAUSABLE_ABI = ["function paused() view returns (bool)"];

/**
 * The escrow/exchange contract's `paused()` is true: every deposit and release is
 * refused until an owner unpauses it. A state check: the event resolves itself on
 * the first run that reads `paused() == false`.
 */
export const contractPaused = defineDetector({
  id: "contract_paused",
  pack: "chain",
  eventType: "contract_paused",
  severity: "CRITICAL",
  kind: "state",
  tier: "critical",
  description: "The escrow/exchange contract's paused() returns true",
  config: z.object({ ...rpcSettings }),
  async run(ctx) {
    return await withChain(ctx, async (chain, env) => {
      const addresses = env.ESCROW_CONTRACT_ADDRESS ?? [];
      const blockNumber = await chain.call(
        "eth_blockNumber",
        () => chain.provider.getBlockNumber(),
      );
      const findings: Finding[] = [];
      for (const address of addresses) {
        const contract = new Contract(address, PAUSABLE_ABI, chain.provider);
        const paused: boolean = await chain.call(
          `paused() on ${address}`,
          () => contract.paused({ blockTag: blockNumber }),
        );
        if (!paused) continue;
        findings.push({
          fingerprint: `contract:${address.toLowerCase()}`,
          title: `Contract ${address} is paused: deposits and releases are refused`,
          entityType: "contract",
          entityId: address,
          context: {
            address,
            chain_id: chain.chainId.toString(),
            block_number: blockNumber,
            rpc: chain.endpoint,
          },
        });
      }
      return {
        rowsExamined: addresses.length,
        findings,
        clearedNote: "paused() returned false: the contract was unpaused",
        report: addresses.length === 0
          ? { skipped: "ESCROW_CONTRACT_ADDRESS is not set: no contract to check" }
          : { block_number: blockNumber },
      };
    });
  },
});
