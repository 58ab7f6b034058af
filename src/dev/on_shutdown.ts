/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits with the code it
 * returns (0 when it returns nothing). A second signal while stopping is ignored,
 * so an impatient Ctrl-C cannot cut a graceful stop short.
 *
 * @example
 * ```ts
 * onShutdown(async () => {
 *   await server.stop();
 * });
 * ```
 */
export function onShutdown(stop: () => Promise<number | void>): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, async () => {
      if (stopping) return;
      stopping = true;
      Deno.exit((await stop()) ?? 0);
    });
  }
}
