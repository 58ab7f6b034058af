// Entry of the `monitoring-api` edge function: the admin dashboard's API.
// Served as supabase/functions/monitoring/index.ts explains.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringApiHandler } from "../../../src/functions/monitoring_api_handler.ts";

const fetch = createMonitoringApiHandler(createAppContext());

export default { fetch } satisfies Deno.ServeDefaultExport;

if ("EdgeRuntime" in globalThis) Deno.serve(fetch);
