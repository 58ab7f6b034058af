// Entry of the `monitoring` edge function: health, status, cycles, breaker reset.
// Kept thin on purpose; the logic lives in src/ so tests and scripts share it.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringHandler } from "../../../src/functions/monitoring_handler.ts";

const fetch = createMonitoringHandler(createAppContext());

export default { fetch };

if (import.meta.main) Deno.serve(fetch);
