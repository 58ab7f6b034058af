import type { Command } from "../cli_io.ts";
import { EXIT, printJson, UsageError } from "../cli_io.ts";
import { errorText } from "../functions_client.ts";
import { parseCommand } from "../parse_args.ts";

/**
 * `monitor breaker reset [name]`: closes one circuit breaker (`cycle`,
 * `detector:<id>`, ...) or every breaker. Do it after fixing what opened it;
 * otherwise it opens again after the next failures.
 */
export const breaker: Command = async (args, ctx) => {
  const { positionals } = parseCommand("breaker", args, {}, [1, 2]);
  const [action, name] = positionals;
  if (action !== "reset") {
    throw new UsageError(`breaker: Cannot parse action: received '${action}' (expected reset)`);
  }
  const answer = await ctx.call<{ reset: string[] }>("monitoring/circuit-breaker/reset", {
    method: "POST",
    body: name ? { name } : {},
  });
  if (!answer.ok) {
    ctx.err(`breaker reset: ${errorText(answer)}`);
    return EXIT.failed;
  }
  if (ctx.json) printJson(ctx, answer.body);
  else if (answer.body.reset.length === 0) ctx.out("no circuit breakers to reset");
  else ctx.out(`reset: ${answer.body.reset.join(", ")}`);
  return EXIT.ok;
};
