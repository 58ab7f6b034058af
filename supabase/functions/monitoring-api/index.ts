// Entry of the `monitoring-api` edge function: the admin dashboard's API.
import { createAppContext } from "../../../src/app/context.ts";
import { createMonitoringApiHandler } from "../../../src/functions/monitoring_api_handler.ts";

const fetch = createMonitoringApiHandler(createAppContext());

export default { fetch };

if (import.meta.main) Deno.serve(fetch);
