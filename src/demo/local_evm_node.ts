/**
 * A local EVM JSON-RPC node for the chain pack's tests and the demo: Hardhat's EDR
 * (the maintained engine inside `hardhat node`) run in-process and served over HTTP
 * on loopback. EDR starts in a fraction of a second and needs no network; the chain
 * pack talks to it exactly as it would to a hosted node.
 *
 * Why EDR: it is maintained (ganache, which also works here, is not), ships as an
 * npm package with a prebuilt native addon that Deno loads, and runs in-process, so
 * a test needs no subprocess. Pinned to 0.20.0: 0.22.0 lists a darwin-arm64 build at
 * a version the registry does not have, and Deno refuses to install it.
 *
 * @module
 */
import {
  ContractDecoder,
  EdrContext,
  L1_CHAIN_TYPE,
  l1GenesisState,
  l1HardforkLatest,
  l1HardforkToString,
  l1ProviderFactory,
  MineOrdering,
} from "@nomicfoundation/edr";
import type { Provider } from "@nomicfoundation/edr";
import { getBytes, id, Wallet } from "ethers";

/** A funded account of the local chain. */
export interface LocalAccount {
  address: string;
  privateKey: string;
}

/** A running local node. */
export interface LocalEvmNode {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  chainId: bigint;
  /** Funded accounts (10,000 ether each), deterministic across runs. */
  accounts: LocalAccount[];
  /** Stops answering; the URL then refuses connections. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startLocalEvmNode}. */
export interface LocalEvmNodeOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  chainId?: bigint;
  /** How many funded accounts to create. */
  accounts?: number;
}

const FUNDS = 10_000n * 10n ** 18n;

// EDR wants a single context per process; providers are cheap to create from it.
let context: Promise<EdrContext> | null = null;
function edrContext(): Promise<EdrContext> {
  context ??= (async () => {
    const created = new EdrContext();
    await created.registerProviderFactory(L1_CHAIN_TYPE, l1ProviderFactory());
    return created;
  })();
  return context;
}

/** Deterministic development keys: never use them for anything of value. */
function devAccounts(count: number): LocalAccount[] {
  return Array.from({ length: count }, (_, index) => {
    const wallet = new Wallet(id(`monitoring local evm node account ${index}`));
    return { address: wallet.address, privateKey: wallet.privateKey };
  });
}

async function createProvider(chainId: bigint, accounts: LocalAccount[]): Promise<Provider> {
  const edr = await edrContext();
  const hardfork = l1HardforkLatest();
  return await edr.createProvider(
    L1_CHAIN_TYPE,
    {
      allowBlocksWithSameTimestamp: false,
      allowUnlimitedContractSize: false,
      bailOnCallFailure: false,
      // Reverted transactions are mined with a status-0 receipt, as on a real chain.
      bailOnTransactionFailure: false,
      chainId,
      coinbase: getBytes(`0x${"c0".repeat(20)}`),
      // EIP-7825 caps one transaction's gas at 2^24 from the Osaka hardfork on.
      defaultTransactionGasLimit: 16_777_216n,
      genesisState: [
        ...l1GenesisState(hardfork),
        ...accounts.map((account) => ({ address: getBytes(account.address), balance: FUNDS })),
      ],
      hardfork: l1HardforkToString(hardfork),
      initialBaseFeePerGas: 1_000_000_000n,
      minGasPrice: 0n,
      mining: { autoMine: true, memPool: { order: MineOrdering.Priority } },
      network: { genesisBlockGasLimit: 30_000_000n },
      networkId: chainId,
      observability: {},
      ownedAccounts: accounts.map((account) => account.privateKey),
      precompileOverrides: [],
    },
    { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} },
    { subscriptionCallback: () => {} },
    new ContractDecoder(),
  );
}

interface JsonRpcRequest {
  id?: unknown;
  method?: unknown;
}

async function answer(provider: Provider, request: JsonRpcRequest): Promise<unknown> {
  const response = await provider.handleRequest(JSON.stringify(request));
  const data = typeof response.data === "string" ? JSON.parse(response.data) : response.data;
  return { jsonrpc: "2.0", id: request.id ?? null, ...data };
}

/**
 * Starts a local EVM node on 127.0.0.1 (a free port unless one is given) with
 * automining, so every transaction is mined at once, reverted ones included.
 *
 * @example
 * ```ts
 * const node = await startLocalEvmNode();
 * try {
 *   console.log(node.url, node.accounts[0].address);
 * } finally {
 *   await node.stop();
 * }
 * ```
 */
export async function startLocalEvmNode(options: LocalEvmNodeOptions = {}): Promise<LocalEvmNode> {
  const chainId = options.chainId ?? 31337n;
  const accounts = devAccounts(options.accounts ?? 4);
  const provider = await createProvider(chainId, accounts);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    async (req) => {
      if (req.method !== "POST") {
        return Response.json({ error: "JSON-RPC over POST only" }, { status: 405 });
      }
      let body: JsonRpcRequest | JsonRpcRequest[];
      try {
        body = await req.json();
      } catch {
        return Response.json({
          jsonrpc: "2.0",
          id: null,
          error: { code: -32700, message: "Parse error" },
        });
      }
      const result = Array.isArray(body)
        ? await Promise.all(body.map((one) => answer(provider, one)))
        : await answer(provider, body);
      return Response.json(result);
    },
  );
  let stopped: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    chainId,
    accounts,
    stop() {
      stopped ??= server.shutdown();
      return stopped;
    },
  };
}
