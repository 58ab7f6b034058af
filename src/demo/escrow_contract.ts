/**
 * The escrow contract of `contracts/Escrow.sol`, compiled with solc-js when first
 * needed (a fraction of a second) and deployed from its bytecode. Used by the chain
 * pack's tests and the demo; the detectors themselves only need `paused()`.
 *
 * @module
 */
import solc from "solc";
import { ContractFactory } from "ethers";
import type { BaseContract, ContractRunner, InterfaceAbi } from "ethers";

const SOURCE = new URL("../../contracts/Escrow.sol", import.meta.url);

/** What deploying needs. */
export interface CompiledContract {
  abi: InterfaceAbi;
  bytecode: string;
  compiler: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: InterfaceAbi; evm: { bytecode: { object: string } } }>
  >;
}

let compiled: Promise<CompiledContract> | null = null;

/**
 * Compiles `contracts/Escrow.sol` (once per process).
 *
 * @throws {Error} with solc's messages when the source does not compile.
 */
export function compileEscrow(): Promise<CompiledContract> {
  compiled ??= (async () => {
    const input = {
      language: "Solidity",
      sources: { "Escrow.sol": { content: await Deno.readTextFile(SOURCE) } },
      settings: {
        // Pinned so the bytecode runs on any node from the Cancun hardfork on.
        evmVersion: "cancun",
        optimizer: { enabled: true, runs: 200 },
        outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
      },
    };
    const output: SolcOutput = JSON.parse(solc.compile(JSON.stringify(input)));
    const errors = (output.errors ?? []).filter((error) => error.severity === "error");
    const contract = output.contracts?.["Escrow.sol"]?.Escrow;
    if (errors.length > 0 || !contract) {
      const messages = errors.map((error) => error.formattedMessage).join("\n");
      throw new Error(`Cannot compile contracts/Escrow.sol:\n${messages}`);
    }
    return {
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      compiler: solc.version(),
    };
  })();
  return compiled;
}

/** The escrow's functions, as the tests and the demo call them. */
export interface EscrowContract extends BaseContract {
  deposit(overrides?: { value: bigint; gasLimit?: bigint }): Promise<{ hash: string }>;
  release(to: string, amount: bigint, overrides?: { gasLimit?: bigint }): Promise<{ hash: string }>;
  pause(overrides?: { gasLimit?: bigint }): Promise<{ hash: string }>;
  unpause(overrides?: { gasLimit?: bigint }): Promise<{ hash: string }>;
  paused(): Promise<boolean>;
  owner(): Promise<string>;
}

/** Deploys a new escrow owned by `owner` and waits until it is mined. */
export async function deployEscrow(
  owner: ContractRunner,
): Promise<{ contract: EscrowContract; address: string }> {
  const { abi, bytecode } = await compileEscrow();
  const deployed = await new ContractFactory(abi, bytecode, owner).deploy();
  await deployed.waitForDeployment();
  return { contract: deployed as unknown as EscrowContract, address: await deployed.getAddress() };
}
