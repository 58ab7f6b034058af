import { z } from "zod";
import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import type { GetUrlResponse } from "ethers";
import type { ChainEnv } from "./chain_env.ts";
import { errorMessage } from "../../log/logger.ts";

/** RPC settings every chain detector carries in its `monitoring_config` row. */
export const rpcSettings = {
  /** Each JSON-RPC call is abandoned after this long. */
  rpc_timeout_ms: z.number().int().min(50).max(60_000).default(3_000),
};

/** A connection to the chain for one detector run. */
export interface ChainClient {
  provider: JsonRpcProvider;
  chainId: bigint;
  /** Where the node is, without any credentials its URL embeds (safe for events and logs). */
  endpoint: string;
  /**
   * Runs one RPC-backed step under the per-call timeout and the run's signal.
   *
   * @throws {Error} "RPC <what> failed at <host>: <reason>", never the full URL.
   */
  call<T>(what: string, step: () => Promise<T>): Promise<T>;
  /** Stops the provider (it keeps no timers, but say so explicitly). */
  close(): void;
}

/** Options for {@linkcode openChain}. */
export interface OpenChainOptions {
  timeoutMs: number;
  /** The detector's budget: aborting it cancels every request in flight. */
  signal: AbortSignal;
}

/**
 * Opens a provider for one run. Every HTTP request goes through `fetch` with an
 * abort signal that fires at the per-call timeout or when the detector's budget
 * runs out, so a slow or unreachable node fails the run instead of hanging it.
 * The network is static (given by `CHAIN_ID` or asked once), which keeps ethers
 * from retrying network detection forever against a dead node.
 */
export async function openChain(env: ChainEnv, options: OpenChainOptions): Promise<ChainClient> {
  const url = new URL(env.CHAIN_RPC_URL);
  const endpoint = url.host;
  const request = new FetchRequest(env.CHAIN_RPC_URL);
  request.timeout = options.timeoutMs;
  request.getUrlFunc = async (req): Promise<GetUrlResponse> => {
    const response = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body ? new Uint8Array(req.body) : undefined,
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
    return {
      statusCode: response.status,
      statusMessage: response.statusText,
      headers: Object.fromEntries(response.headers),
      body: new Uint8Array(await response.arrayBuffer()),
    };
  };

  const call = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    // A backstop over the fetch timeout, for steps that make several requests or
    // stall between them, and the run's own budget.
    const stop = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
    let onStop = () => {};
    const stopped = new Promise<never>((_, reject) => {
      onStop = () => reject(stop.reason);
      if (stop.aborted) onStop();
      stop.addEventListener("abort", onStop, { once: true });
    });
    try {
      return await Promise.race([step(), stopped]);
    } catch (error) {
      const reason = describeRpcError(error, options.timeoutMs)
        .replaceAll(url.href, endpoint)
        .replaceAll(env.CHAIN_RPC_URL, endpoint);
      throw new Error(`RPC ${what} failed at ${endpoint}: ${reason}`);
    } finally {
      stop.removeEventListener("abort", onStop);
    }
  };

  const chainId = env.CHAIN_ID ?? await call("eth_chainId", async () => {
    const probe = request.clone();
    probe.body = { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] };
    const response = await probe.send();
    response.assertOk();
    const body = z.object({ result: z.string() }).parse(response.bodyJson);
    return BigInt(body.result);
  });
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(request, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    // Each run must see the chain as it is now, not a 250 ms old answer.
    cacheTimeout: -1,
  });
  return { provider, chainId, endpoint, call, close: () => provider.destroy() };
}

/** A short reason from ethers' verbose errors (which embed request payloads). */
function describeRpcError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `timed out after ${timeoutMs} ms`;
  }
  const shortMessage = (error as { shortMessage?: unknown })?.shortMessage;
  if (typeof shortMessage === "string") {
    const cause = (error as { error?: { message?: unknown } }).error?.message;
    return typeof cause === "string" ? `${shortMessage} (${cause})` : shortMessage;
  }
  // fetch says only "fetch failed"; the reason (refused, reset, DNS) is in its cause.
  const cause = error instanceof Error && error.cause ? `: ${errorMessage(error.cause)}` : "";
  return `${errorMessage(error)}${cause}`.split("\n")[0].slice(0, 300);
}
