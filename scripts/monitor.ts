/**
 * `deno task monitor <command>`: the operator CLI (see `--help` and
 * docs/handbook.md). Exit codes: 0 ok, 1 failed or unhealthy, 2 usage, 3 degraded.
 */
import { runCli } from "../src/cli/main.ts";

const code = await runCli(Deno.args, {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  env: Deno.env.toObject(),
});
Deno.exit(code);
