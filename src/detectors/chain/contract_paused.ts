import { z } from "zod";
import { Contract } from "ethers";
import { defineDetector } from "../types.ts";
import { rpcSettings } from "./chain_client.ts";
import { checkContracts } from "./contract_state.ts";

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
    return await checkContracts(ctx, {
      clearedNote: "paused() returned false: the contract was unpaused",
      async inspect({ chain, address, blockNumber }) {
        const contract = new Contract(address, PAUSABLE_ABI, chain.provider);
        const paused: boolean = await chain.call(
          `paused() on ${address}`,
          () => contract.paused({ blockTag: blockNumber }),
        );
        if (!paused) return null;
        return {
          title: `Contract ${address} is paused: deposits and releases are refused`,
          context: { paused },
        };
      },
    });
  },
});
