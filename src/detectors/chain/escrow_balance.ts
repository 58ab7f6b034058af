import { z } from "zod";
import { formatEther, parseEther } from "ethers";
import { defineDetector } from "../types.ts";
import type { Finding } from "../types.ts";
import { rpcSettings } from "./chain_client.ts";
import { withChain } from "./with_chain.ts";

/** An amount of ether as a decimal string, so wei-exact limits survive JSON. */
const etherAmount = z.string().trim().regex(/^\d+(\.\d{1,18})?$/, {
  error: 'must be a decimal amount of ether as a string, e.g. "100" or "0.5"',
});

/**
 * The escrow holds more native currency than the operators allow (funds should be
 * swept out; a large balance is what an attacker would go for). A state check: the
 * event resolves itself once the balance is back at or under the limit.
 */
export const escrowBalance = defineDetector({
  id: "escrow_balance",
  pack: "chain",
  eventType: "contract_balance",
  severity: "HIGH",
  kind: "state",
  tier: "critical",
  description: "The escrow holds more native currency than max_balance_ether",
  config: z.object({
    ...rpcSettings,
    max_balance_ether: etherAmount.default("100"),
  }),
  async run(ctx) {
    const limit = parseEther(ctx.config.max_balance_ether);
    return await withChain(ctx, async (chain, env) => {
      const addresses = env.ESCROW_CONTRACT_ADDRESS ?? [];
      const blockNumber = await chain.call(
        "eth_blockNumber",
        () => chain.provider.getBlockNumber(),
      );
      const findings: Finding[] = [];
      for (const address of addresses) {
        const balance = await chain.call(
          `eth_getBalance of ${address}`,
          () => chain.provider.getBalance(address, blockNumber),
        );
        if (balance <= limit) continue;
        findings.push({
          fingerprint: `contract:${address.toLowerCase()}`,
          title: `Escrow ${address} holds ${formatEther(balance)} ether, over the ${
            formatEther(limit)
          } allowed`,
          entityType: "contract",
          entityId: address,
          context: {
            address,
            balance_wei: balance.toString(),
            balance_ether: formatEther(balance),
            max_balance_ether: formatEther(limit),
            excess_ether: formatEther(balance - limit),
            chain_id: chain.chainId.toString(),
            block_number: blockNumber,
            rpc: chain.endpoint,
          },
        });
      }
      return {
        rowsExamined: addresses.length,
        findings,
        clearedNote: `balance is back at or under ${formatEther(limit)} ether`,
        report: addresses.length === 0
          ? { skipped: "ESCROW_CONTRACT_ADDRESS is not set: no contract to check" }
          : { block_number: blockNumber },
      };
    });
  },
});
