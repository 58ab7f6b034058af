import type { DetectorContext, DetectorResult, Finding } from "../types.ts";
import type { ChainClient } from "./chain_client.ts";
import { withChain } from "./with_chain.ts";

/** What a contract check reads of one contract at one block. */
export interface ContractProbe {
  chain: ChainClient;
  address: string;
  blockNumber: number;
}

/** A breach of one contract, before the shared subject fields are added. */
export type ContractBreach = Pick<Finding, "title"> & { context: Record<string, unknown> };

/**
 * Runs a state check over every contract of `ESCROW_CONTRACT_ADDRESS`, all read at
 * the same block. One finding per breaching contract (fingerprint by address), so
 * the event of a contract that no longer breaches is resolved with `clearedNote`.
 * Without addresses the run checks nothing and says so in its report.
 */
export async function checkContracts(
  ctx: DetectorContext<{ rpc_timeout_ms: number }>,
  options: {
    clearedNote: string;
    inspect(probe: ContractProbe): Promise<ContractBreach | null>;
  },
): Promise<DetectorResult> {
  return await withChain(ctx, async (chain, env) => {
    const addresses = env.ESCROW_CONTRACT_ADDRESS ?? [];
    if (addresses.length === 0) {
      return {
        rowsExamined: 0,
        findings: [],
        clearedNote: "ESCROW_CONTRACT_ADDRESS is no longer set: the contract is not watched",
        report: { skipped: "ESCROW_CONTRACT_ADDRESS is not set: no contract to check" },
      };
    }
    const blockNumber = await chain.call(
      "eth_blockNumber",
      () => chain.provider.getBlockNumber(),
    );
    const findings: Finding[] = [];
    for (const address of addresses) {
      const breach = await options.inspect({ chain, address, blockNumber });
      if (!breach) continue;
      findings.push({
        fingerprint: `contract:${address.toLowerCase()}`,
        title: breach.title,
        entityType: "contract",
        entityId: address,
        context: {
          address,
          ...breach.context,
          chain_id: chain.chainId.toString(),
          block_number: blockNumber,
          rpc: chain.endpoint,
        },
      });
    }
    return {
      rowsExamined: addresses.length,
      findings,
      clearedNote: options.clearedNote,
      report: { block_number: blockNumber },
    };
  });
}
