import type { DetectorContext } from "../types.ts";
import { readChainEnv } from "./chain_env.ts";
import type { ChainEnv } from "./chain_env.ts";
import { openChain } from "./chain_client.ts";
import type { ChainClient } from "./chain_client.ts";

/**
 * Runs `work` with a chain connection opened from the detector's environment and
 * thresholds, and closes it afterwards.
 *
 * @throws {Error} when the chain settings are missing or invalid (the pack's
 * availability check normally skips the detector before that), or when an RPC
 * call fails or times out, which fails this detector only.
 */
export async function withChain<T>(
  ctx: DetectorContext<{ rpc_timeout_ms: number }>,
  work: (chain: ChainClient, env: ChainEnv) => Promise<T>,
): Promise<T> {
  const settings = readChainEnv(ctx.env);
  if (!settings.ok) throw new Error(settings.reason);
  const chain = await openChain(settings.env, {
    timeoutMs: ctx.config.rpc_timeout_ms,
    signal: ctx.signal,
  });
  try {
    return await work(chain, settings.env);
  } finally {
    chain.close();
  }
}
