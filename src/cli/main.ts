import { z } from "zod";
import type { CliContext, Command, ExitCode } from "./cli_io.ts";
import { EXIT, UsageError } from "./cli_io.ts";
import type { FunctionsCaller } from "./functions_client.ts";
import { createFunctionsCaller, UnreachableError } from "./functions_client.ts";
import { health } from "./commands/health.ts";
import { status } from "./commands/status.ts";
import { cycle } from "./commands/cycle.ts";
import { events, show, statusCommand } from "./commands/events.ts";
import { silence } from "./commands/silences.ts";
import { breaker } from "./commands/breaker.ts";
import { snapshot } from "./commands/snapshot.ts";
import { setup } from "./commands/setup.ts";

export const USAGE = `Usage: deno task monitor <command> [options] [--json]

Talks to the monitoring functions through supabase-js (SUPABASE_URL and
SUPABASE_SERVICE_ROLE_KEY or a secret key from the environment; for the dev server
SUPABASE_URL=http://127.0.0.1:<port>).

  health                          tiers, database, breakers (exit 0 healthy, 3 degraded, 1 unhealthy)
  status                          breakers, tiers, packs, detectors, open events, config errors
  cycle [--tier T] [--detector ID]... [--dry-run]
                                  run a cycle now (exit 3 when a detector failed)
  events [--severity S] [--status S] [--type T] [--pack P] [--card C] [--detector D]
         [--since 24h|ISO] [--until ISO] [--q TEXT] [--limit N] [--cursor C]
  show ID                         one event: context, status changes, alerts
  ack ID [--notes TEXT]           OPEN -> ACKNOWLEDGED
  resolve ID --notes TEXT         -> RESOLVED
  false-positive ID --notes TEXT  -> FALSE_POSITIVE
  silence create --matcher M [--matcher M]... (--duration 2h | --until ISO) [--starts ISO]
                 --comment TEXT [--by NAME]
  silence list [--state active|pending|expired]
  silence expire ID
  breaker reset [NAME]            close one breaker (cycle, detector:<id>) or all
  snapshot                        take a health snapshot now (exit 0 HEALTHY, 3 WARNING, 1 CRITICAL)
  setup                           seed config, install capture and indexes (SUPABASE_DB_URL or DATABASE_URL)

Exit codes: 0 ok, 1 failed or unhealthy, 2 usage error, 3 degraded.`;

const COMMANDS: Record<string, Command> = {
  health,
  status,
  cycle,
  events,
  show,
  ack: statusCommand("ack", "ACKNOWLEDGED"),
  resolve: statusCommand("resolve", "RESOLVED"),
  "false-positive": statusCommand("false-positive", "FALSE_POSITIVE"),
  silence,
  breaker,
  snapshot,
  setup,
};

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

/**
 * Runs one CLI command and returns its exit code; never throws. `--json` and
 * `--help` are accepted anywhere on the line.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const json = argv.includes("--json");
  const args = argv.filter((arg) => arg !== "--json");
  const [name, ...rest] = args;
  if (name === "help" || args.includes("--help") || args.includes("-h")) {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (!name) {
    io.err(USAGE);
    return EXIT.usage;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`Unknown command '${name}'\n\n${USAGE}`);
    return EXIT.usage;
  }
  let caller: FunctionsCaller | undefined;
  const ctx: CliContext = {
    out: io.out,
    err: io.err,
    env: io.env,
    json,
    call: (path, options) => {
      caller ??= createFunctionsCaller(io.env);
      return caller(path, options);
    },
  };
  try {
    return await command(rest, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nRun 'deno task monitor --help' for usage.`);
      return EXIT.usage;
    }
    if (error instanceof z.ZodError) {
      io.err(error.issues.map((issue) => issue.message).join("\n"));
      return EXIT.usage;
    }
    if (error instanceof UnreachableError) {
      io.err(error.message);
      return EXIT.failed;
    }
    io.err(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}
