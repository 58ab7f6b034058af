import type { Sql } from "../db/client.ts";
import type { Logger } from "../log/logger.ts";
import type { CycleHooks } from "../cycle/run_cycle.ts";
import { alertsConfig } from "./alert_config.ts";
import { channelsFromEnv } from "./notify/channels.ts";
import { enqueueEventChanges } from "./dispatch/enqueue.ts";
import { deliverDueAlerts } from "./outbox/sender.ts";
import type { DeliverOptions } from "./outbox/sender.ts";

/** Options for {@linkcode createAlertHooks}. */
export interface AlertHookOptions {
  /** The pool the sender uses after a cycle (lazily opened by the app context). */
  sql: () => Sql;
  env: Record<string, string | undefined>;
  log?: Logger;
  /** The pipeline clock (tests move it). */
  now?: () => Date;
  /** Extra sender options (tests inject crashes). */
  deliver?: Omit<DeliverOptions, "env" | "now" | "log">;
}

/**
 * The cycle hooks that make up the alert pipeline: `onEventChanges` writes the
 * outbox inside each detector's transaction (so an event and its notifications
 * commit together), and the `alerts` after-cycle hook delivers what is due.
 */
export function createAlertHooks(options: AlertHookOptions): CycleHooks {
  const now = options.now ?? (() => new Date());
  const channels = channelsFromEnv(options.env);
  return {
    async onEventChanges(tx, changes, _detector, runtime) {
      if (channels.enabled.size === 0) return;
      // The config the cycle loaded holds the alerts key: no read per detector.
      const settings = runtime.get(alertsConfig);
      await enqueueEventChanges(tx, changes, { settings, channels: channels.enabled, now: now() });
    },
    afterCycle: [{
      name: "alerts",
      run: () =>
        deliverDueAlerts(options.sql(), { ...options.deliver, channels, now, log: options.log }),
    }],
  };
}
