/**
 * `deno task dev`: serves both functions at http://127.0.0.1:${PORT:-54321}/functions/v1/...
 * against DATABASE_URL or an embedded Postgres, with the tier scheduler on unless
 * MONITORING_SCHEDULE=off. Prints one line when ready; logs JSON lines after that.
 */
import { startDevServer } from "../src/dev/dev_server.ts";
import { onShutdown } from "../src/dev/on_shutdown.ts";

const server = await startDevServer();
console.log(
  `monitoring dev server ready: ${server.functionsUrl}/monitoring/health ` +
    `(key: ${server.serviceKey}) dashboard: ${server.url}/dashboard/ database: ${
      redact(server.databaseUrl)
    }`,
);

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

onShutdown(() => server.stop());
