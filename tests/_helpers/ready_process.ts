/** A subprocess that printed its ready line. */
export interface ReadyProcess {
  /** The first capture group of `ready` in the process's output (e.g. its URL). */
  readonly ready: string;
  /** Everything it wrote so far, stdout and stderr together (for failure messages). */
  output(): string;
  /** SIGTERM (SIGKILL after `graceMs`), then waits for it and its output to end. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startReadyProcess}. */
export interface ReadyProcessOptions {
  /** `deno` arguments, e.g. `["run", "-A", "scripts/dev.ts"]`. */
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Matched against the output so far; its first group is the ready value. */
  ready: RegExp;
  timeoutMs?: number;
  graceMs?: number;
}

/**
 * Starts a `deno` subprocess and resolves once its output matches `ready`, so tests
 * meet a server exactly as an operator starts it. Rejects with the output when the
 * process exits first or is not ready in time.
 */
export async function startReadyProcess(options: ReadyProcessOptions): Promise<ReadyProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: options.args,
    env: { NO_COLOR: "1", ...options.env },
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: ready, resolve } = Promise.withResolvers<string>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      const match = options.ready.exec(output);
      if (match) resolve(match[1]);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const signal = (name: Deno.Signal) => {
    try {
      child.kill(name);
    } catch {
      // Already exited.
    }
  };
  const stop = async () => {
    signal("SIGTERM");
    const grace = setTimeout(() => signal("SIGKILL"), options.graceMs ?? 2000);
    await child.status;
    clearTimeout(grace);
    await drained;
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const value = await Promise.race([
      ready,
      child.status.then((s) => Promise.reject(new Error(`exited with ${s.code}:\n${output}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not ready after ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
      }),
    ]);
    return { ready: value, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
