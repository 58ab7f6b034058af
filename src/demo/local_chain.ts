import { JsonRpcProvider, Network, NonceManager, Wallet } from "ethers";
import type { TransactionReceipt } from "ethers";
import { startLocalEvmNode } from "./local_evm_node.ts";
import type { LocalEvmNode } from "./local_evm_node.ts";
import { deployEscrow } from "./escrow_contract.ts";
import type { EscrowContract } from "./escrow_contract.ts";

/** A local EVM node with a freshly deployed escrow (tests and the demo). */
export interface LocalChain {
  node: LocalEvmNode;
  provider: JsonRpcProvider;
  /** The escrow's owner (the node's first account). */
  owner: NonceManager;
  escrow: EscrowContract;
  escrowAddress: string;
  /** Another funded account, to receive releases. */
  payee: string;
  /** The chain pack's environment pointing at this node and escrow. */
  env: { CHAIN_RPC_URL: string; ESCROW_CONTRACT_ADDRESS: string };
  /** Waits for a sent transaction's receipt (the node mines at once, reverts included). */
  mined(sent: Promise<{ hash: string }>): Promise<TransactionReceipt>;
  stop(): Promise<void>;
}

/** Starts a node on a free loopback port and deploys the escrow from its compiled bytecode. */
export async function startLocalChain(): Promise<LocalChain> {
  const node = await startLocalEvmNode();
  const network = Network.from(node.chainId);
  const provider = new JsonRpcProvider(node.url, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  try {
    // NonceManager counts nonces locally: back-to-back sends never reuse one.
    const owner = new NonceManager(new Wallet(node.accounts[0].privateKey, provider));
    const { contract, address } = await deployEscrow(owner);
    const mined = async (sent: Promise<{ hash: string }>) => {
      const { hash } = await sent;
      for (let attempt = 0; attempt < 100; attempt++) {
        const receipt = await provider.getTransactionReceipt(hash);
        if (receipt) return receipt;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`transaction ${hash} was not mined`);
    };
    return {
      node,
      provider,
      owner,
      escrow: contract,
      escrowAddress: address,
      payee: node.accounts[1].address,
      env: { CHAIN_RPC_URL: node.url, ESCROW_CONTRACT_ADDRESS: address },
      mined,
      async stop() {
        provider.destroy();
        await node.stop();
      },
    };
  } catch (error) {
    provider.destroy();
    await node.stop();
    throw error;
  }
}
