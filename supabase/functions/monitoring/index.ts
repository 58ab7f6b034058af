// Entry of the `monitoring` edge function: health, status, cycles, breaker reset.
// Kept thin on purpose; the logic lives in src/ so tests and scripts share it.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringHandler } from "../../../src/functions/monitoring_handler.ts";

const fetch = createMonitoringHandler(createAppContext());

// `deno serve` (local runs, tests) serves the default export.
export default { fetch } satisfies Deno.ServeDefaultExport;

// Supabase's edge runtime serves what the module hands to Deno.serve. Under `deno
// serve`, import.meta.main is true as well, so the runtime's own global is what
// tells the two apart; calling Deno.serve there too would start a second server.
if ("EdgeRuntime" in globalThis) Deno.serve(fetch);
