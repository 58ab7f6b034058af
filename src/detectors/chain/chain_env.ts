import { z } from "zod";
import { getAddress, isAddress } from "ethers";
import { describeZodError } from "../../config/runtime_config.ts";

const text = z.string().trim().min(1);

/**
 * The chain pack's environment. The RPC URL often embeds a provider's API key, so it
 * lives with the other secrets in the environment, not in `monitoring_config`.
 */
export const chainEnvSchema = z.object({
  /** JSON-RPC endpoint of the EVM chain (http or https). */
  CHAIN_RPC_URL: text.pipe(
    z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  ),
  /** The escrow/exchange contracts to watch: comma-separated addresses. */
  ESCROW_CONTRACT_ADDRESS: text
    .transform((raw) => raw.split(",").map((part) => part.trim()).filter(Boolean))
    .pipe(
      z.array(
        z.string().refine(isAddress, {
          error: (issue) => `not an address: received '${issue.input}'`,
        }).transform((address) => getAddress(address)),
      ).min(1),
    )
    .optional(),
  /** The chain id, when known; otherwise it is asked of the node once per run. */
  CHAIN_ID: z.coerce.bigint().positive().optional(),
});

/** The parsed chain environment. */
export type ChainEnv = z.infer<typeof chainEnvSchema>;

/** The chain environment, or why the pack cannot run. */
export type ChainEnvResult = { ok: true; env: ChainEnv } | { ok: false; reason: string };

/**
 * Reads the chain pack's variables. Empty strings count as unset, so a missing
 * variable never silently becomes `""`.
 */
export function readChainEnv(source: Readonly<Record<string, string | undefined>>): ChainEnvResult {
  const pick = (name: string) => {
    const value = source[name]?.trim();
    return value ? value : undefined;
  };
  if (!pick("CHAIN_RPC_URL")) return { ok: false, reason: "CHAIN_RPC_URL is not set" };
  const parsed = chainEnvSchema.safeParse({
    CHAIN_RPC_URL: pick("CHAIN_RPC_URL"),
    ESCROW_CONTRACT_ADDRESS: pick("ESCROW_CONTRACT_ADDRESS"),
    CHAIN_ID: pick("CHAIN_ID"),
  });
  if (!parsed.success) {
    return {
      ok: false,
      reason: `Cannot read the chain settings: ${describeZodError(parsed.error)}`,
    };
  }
  return { ok: true, env: parsed.data };
}
