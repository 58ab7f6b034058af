import { z } from "zod";
import { formatEther, parseEther } from "ethers";
import { defineDetector } from "../types.ts";
import { rpcSettings } from "./chain_client.ts";
import { checkContracts } from "./contract_state.ts";

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
    return await checkContracts(ctx, {
      clearedNote: `balance is back at or under ${formatEther(limit)} ether`,
      async inspect({ chain, address, blockNumber }) {
        const balance = await chain.call(
          `eth_getBalance of ${address}`,
          () => chain.provider.getBalance(address, blockNumber),
        );
        if (balance <= limit) return null;
        return {
          title: `Escrow ${address} holds ${formatEther(balance)} ether, over the ${
            formatEther(limit)
          } allowed`,
          context: {
            balance_wei: balance.toString(),
            balance_ether: formatEther(balance),
            max_balance_ether: formatEther(limit),
            excess_ether: formatEther(balance - limit),
          },
        };
      },
    });
  },
});
