import type { FunctionsCaller } from "./functions_client.ts";

/** Exit codes scripts can test. */
export const EXIT = {
  /** Healthy, or the command did what was asked. */
  ok: 0,
  /** Unhealthy, the call failed, or the function answered an error. */
  failed: 1,
  /** Bad command line (unknown command or option, missing argument). */
  usage: 2,
  /** Degraded: working, but something needs a look (a stale tier, an open breaker). */
  degraded: 3,
} as const;
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** A command line the CLI cannot run; exits with {@linkcode EXIT.usage}. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What a command needs: where to write, the environment, and the function caller. */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Print JSON instead of tables (`--json`). */
  json: boolean;
  /** Built on first use, so `--help` and `setup` need no SUPABASE_URL. */
  call: FunctionsCaller;
}

/** A sub-command: parses its own arguments, returns its exit code. */
export type Command = (args: string[], ctx: CliContext) => Promise<ExitCode>;

/** Writes `value` as indented JSON (for `--json`). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
