// Entry of the `monitoring-api` edge function: the admin dashboard's API.
// Served by its default export (`deno serve`, Supabase's edge runtime); see
// supabase/functions/monitoring/index.ts for why there is no `Deno.serve` here.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringApiHandler } from "../../../src/functions/monitoring_api_handler.ts";

const fetch = createMonitoringApiHandler(createAppContext());

export default { fetch } satisfies Deno.ServeDefaultExport;
