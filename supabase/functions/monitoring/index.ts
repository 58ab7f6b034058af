// Entry of the `monitoring` edge function: health, status, cycles, breaker reset.
// Kept thin on purpose; the logic lives in src/ so tests and scripts share it.
// Both `deno serve` and Supabase's edge runtime serve the default export. A
// `Deno.serve` call here as well would start a second server under `deno serve`
// (on 0.0.0.0:8000, where `import.meta.main` is also true), so there is none.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringHandler } from "../../../src/functions/monitoring_handler.ts";

const fetch = createMonitoringHandler(createAppContext());

export default { fetch } satisfies Deno.ServeDefaultExport;
