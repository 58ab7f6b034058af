/**
 * The EVM node the chain pack's tests run against: Hardhat's EDR served on a free
 * loopback port, in this process (about 0.1 s to start), with the escrow of
 * `contracts/Escrow.sol` compiled by solc-js and deployed from its bytecode. Each
 * test starts its own and stops it in `finally`.
 */
export { startLocalChain as startTestChain } from "../../src/demo/local_chain.ts";
export type { LocalChain as TestChain } from "../../src/demo/local_chain.ts";
