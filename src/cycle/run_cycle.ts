import type { Sql, Tx } from "../db/client.ts";
import { transaction } from "../db/transaction.ts";
import type { Logger } from "../log/logger.ts";
import { errorMessage } from "../log/logger.ts";
import type {
  Detector,
  DetectorResult,
  PackAvailability,
  PackDefinition,
  Tier,
} from "../detectors/types.ts";
import type { RuntimeConfig } from "../config/runtime_config.ts";
import { loadRuntimeConfig } from "../config/runtime_config.ts";
import { breakerConfig, cycleConfig } from "../config/core_config.ts";
import { allConfigSpecs } from "../config/all_specs.ts";
import { detectorConfigSpec } from "../detectors/registry.ts";
import { packsAvailability } from "../detectors/pack_status.ts";
import {
  acquirePermit,
  recordClosedSuccesses,
  recordFailure,
  recordSuccess,
  unclosedBreakers,
} from "../breaker/circuit_breaker.ts";
import type { BreakerPermit, BreakerSettings, BreakerState } from "../breaker/circuit_breaker.ts";
import { recordFindings } from "../events/record_findings.ts";
import { readFeedsAhead, snapshotHorizon } from "../detectors/change_feed.ts";
import type { PrefetchedFeeds } from "../detectors/change_feed.ts";
import type { EventChange } from "../events/event_schema.ts";
import { acquireLeases, leaseKeeper, releaseLeases } from "./lease.ts";
import type { LeaseHolder } from "./lease.ts";
import { runInLanes } from "./lanes.ts";
import { planCycle } from "./cycle_plan.ts";
import type { CycleRequest, PlannedRun } from "./cycle_plan.ts";
import { cycleRequestSchema } from "./cycle_plan.ts";
import { recordCycleEnd, recordCycleStart, recordRuns } from "./cycle_record.ts";
import type { PendingRun } from "./cycle_record.ts";

const LEASE_LOST = "the tier's lease expired during this cycle and another cycle took it";

/**
 * How long each detector's runs took in this isolate's last cycle that ran it: the
 * next cycle starts the longest first (see `runInLanes`). A hint only; a new
 * isolate starts in plan order.
 */
const lastDurations = new Map<string, number>();

/** The breaker that guards whole cycles. */
export const CYCLE_BREAKER = "cycle";
/** The breaker name of one detector. */
export const detectorBreaker = (id: string) => `detector:${id}`;

export type DetectorStatus = "ok" | "skipped" | "failed" | "breaker_open";

/** One detector's part of a cycle summary. */
export interface DetectorOutcome {
  detector: string;
  pack: string;
  tier: Tier;
  mode: string;
  status: DetectorStatus;
  duration_ms: number;
  rows_examined: number;
  findings: number;
  new_events: number;
  repeated_events: number;
  resolved_events: number;
  reason?: string;
  error?: string;
  breaker?: BreakerState;
  report?: Record<string, unknown>;
  /** Titles of what was found (dry runs show what would have been written). */
  examples?: string[];
}

/** What `POST /monitoring/cycle` answers. */
export interface CycleSummary {
  cycle_id: string;
  tiers: Tier[];
  status: "ok" | "partial" | "failed" | "dry_run";
  dry_run: boolean;
  started_at: string;
  duration_ms: number;
  detectors: DetectorOutcome[];
  totals: { findings: number; new_events: number; resolved_events: number; failed: number };
  config_errors: { key: string; message: string }[];
  /** What the after-cycle hooks did (e.g. alert delivery). */
  hooks: Record<string, unknown>;
}

export type CycleOutcome =
  | { kind: "completed"; summary: CycleSummary }
  | { kind: "busy"; heldBy: LeaseHolder }
  | { kind: "breaker_open"; retryAt?: Date };

/** Seams later stages plug into without the runner knowing them. */
export interface CycleHooks {
  /**
   * Runs inside each detector's transaction, after its events are written (the alert
   * outbox). `runtime` is the config the cycle loaded, so the hook need not read it again.
   */
  onEventChanges?(
    tx: Tx,
    changes: EventChange[],
    detector: Detector,
    runtime: RuntimeConfig,
  ): Promise<void>;
  /** Runs after every detector committed; its result lands in `summary.hooks[name]`. */
  afterCycle?: { name: string; run(summary: CycleSummary): Promise<unknown> }[];
}

/** What a cycle needs from its caller. */
export interface CycleDeps {
  sql: Sql;
  packs: readonly PackDefinition[];
  log: Logger;
  env: Record<string, string | undefined>;
  /** Who runs it (host and pid), stored with the lease. */
  holder?: string;
  /** http, cron, scheduler, cli... */
  trigger?: string;
  hooks?: CycleHooks;
  now?: () => Date;
}

class DryRunRollback extends Error {
  constructor(readonly result: DetectorResult) {
    super("dry run");
  }
}

function emptyOutcome(run: PlannedRun, status: DetectorStatus): DetectorOutcome {
  return {
    detector: run.detector.id,
    pack: run.pack.id,
    tier: run.tier,
    mode: run.mode,
    status,
    duration_ms: 0,
    rows_examined: 0,
    findings: 0,
    new_events: 0,
    repeated_events: 0,
    resolved_events: 0,
  };
}

/**
 * What one cycle keeps while its detectors run, so that it reads and writes the
 * bookkeeping tables once per cycle rather than once per detector.
 */
interface CycleState {
  /** Breakers of this cycle that are not closed; absent means closed. */
  breakers: Map<string, BreakerState>;
  /** Breakers whose call succeeded while closed: one write at the end of the cycle. */
  successes: string[];
  /** Detector runs to write at the end of the cycle. */
  runs: PendingRun[];
  /** The change feed's horizon, once a detector has asked for it (see `sharedHorizon`). */
  horizon?: Promise<string>;
  /**
   * The feeds read ahead of the detectors (`readFeedsAhead`). Not awaited before
   * the lanes start: each run awaits it once its opening statement is answered, so
   * the read overlaps the first runs' openings instead of delaying them.
   */
  prefetched: Promise<PrefetchedFeeds | null>;
}

/**
 * Runs one cycle: takes the leases of its tiers (or answers busy), asks the cycle
 * breaker, then runs each planned detector in its own transaction under its own
 * statement timeout and breaker, up to `cycle.parallel_detectors` of them at once
 * (two runs of one detector, its incremental run and its sweep, never overlap). A
 * detector that fails is recorded and the rest go on. Events, the detector's
 * watermark and its alert outbox rows commit together, so a crash anywhere
 * re-examines rather than loses rows.
 *
 * The fixed cost is kept to a few round trips: pack availability and breakers are
 * read while config is read and the lease taken; the change feeds every detector
 * reads are read once, with one horizon, alongside the first detectors' opening
 * statements (detectors that share a feed and a position share the read); a
 * breaker that is closed grants its permit without a statement; the detector runs
 * and closed breakers' successes are written in one statement each after the last
 * detector. A failure's breaker update is written at once, since it decides what
 * runs next.
 *
 * @throws {PlanError} when the request names an unknown detector or tier mismatch.
 */
export async function runCycle(deps: CycleDeps, input: CycleRequest = {}): Promise<CycleOutcome> {
  const request = cycleRequestSchema.parse(input);
  const plan = planCycle(deps.packs, request);
  const { sql } = deps;
  const now = deps.now ?? (() => new Date());
  const cycleId = crypto.randomUUID();
  const log = deps.log.child({ cycle_id: cycleId });
  const started = performance.now();
  const startedAt = now();

  // The catalog and breaker reads run while config is read and the lease taken
  // (pooled connections run them side by side; a single connection pipelines them).
  // Breakers are only read here: a trial is claimed after the lease, below.
  const reads = Promise.all([
    packsAvailability(sql, [...new Set(plan.runs.map((run) => run.pack))], deps.env),
    request.dry_run ? new Map<string, BreakerState>() : unclosedBreakers(sql, [
      CYCLE_BREAKER,
      ...plan.runs.map((run) => detectorBreaker(run.detector.id)),
    ]),
  ]);
  // Awaited below; this only keeps an early return from leaving a rejection unhandled.
  reads.catch(() => {});
  const config = await loadRuntimeConfig(sql, allConfigSpecs(deps.packs));
  const breakerSettings = config.get(breakerConfig);
  const cycleSettings = config.get(cycleConfig);

  // The lease comes first: a caller turned away as busy must not use up the cycle
  // breaker's single half-open trial.
  const lease = await acquireLeases(sql, {
    tiers: plan.tiers,
    cycleId,
    holder: deps.holder ?? `${Deno.hostname()}:${Deno.pid}`,
    seconds: cycleSettings.lease_seconds,
  });
  if (!lease.acquired) {
    log.info("cycle refused: tier already running", { held_by: lease.heldBy });
    return { kind: "busy", heldBy: lease.heldBy };
  }

  // Read once the lease is held, so no other cycle of the tier moves the watermarks
  // it starts from, and never awaited before the lanes start (see `CycleState`). A
  // read-ahead that fails costs only itself: each detector then reads its own feeds.
  const feedsAhead = readFeedsAhead(sql, {
    keys: plan.runs.filter((run) => run.mode === "incremental" && !run.detector.readsOwnFeeds)
      .map(watermarkKey),
    limit: cycleSettings.change_batch_size,
  }).catch((error) => {
    log.warn("feed read-ahead failed; detectors read their own", { error: errorMessage(error) });
    return null;
  });
  const [availability, unclosed] = await reads.catch(async (error) => {
    await releaseLeases(sql, cycleId).catch(() => {});
    throw error;
  });
  const state: CycleState = { breakers: unclosed, successes: [], runs: [], prefetched: feedsAhead };
  // The read-ahead's horizon serves every detector of the cycle that has not taken one.
  feedsAhead.then((prefetched) => {
    if (prefetched && !state.horizon) shareHorizon(state, prefetched.horizon);
  });
  const cyclePermit = await permitOf(sql, state, CYCLE_BREAKER, breakerSettings).catch(
    async (error) => {
      await releaseLeases(sql, cycleId).catch(() => {});
      throw error;
    },
  );
  if (!cyclePermit.allowed) {
    log.warn("cycle refused: cycle breaker open", { tiers: plan.tiers });
    await releaseLeases(sql, cycleId);
    return { kind: "breaker_open", retryAt: cyclePermit.retryAt };
  }

  // Written alongside the first detector rather than before it; awaited (its error
  // kept, never left unhandled) before the detector runs are written.
  const cycleRowWritten = request.dry_run ? Promise.resolve(null) : recordCycleStart(sql, {
    cycleId,
    tiers: plan.tiers,
    trigger: deps.trigger ?? "http",
    startedAt,
  }).then(() => null, (error: unknown) => error);

  // Detectors run side by side, each in its own transaction on its own connection,
  // up to the pool's size, so a cycle no longer costs the sum of its detectors. One
  // clock for the whole cycle, so detectors that run at once stamp and group their
  // events alike.
  const lanes = Math.min(cycleSettings.parallel_detectors, sql.options.max);
  const detectorNow = now();
  const slots: (DetectorOutcome | undefined)[] = [];
  const keeper = leaseKeeper(sql, {
    cycleId,
    tiers: plan.tiers.length,
    seconds: cycleSettings.lease_seconds,
  });
  let infrastructureError: unknown = null;
  try {
    log.info("cycle started", {
      tiers: plan.tiers,
      detectors: plan.runs.length,
      lanes,
      dry_run: request.dry_run,
    });
    const ranNow = new Map<string, number>();
    await runInLanes(plan.runs, {
      lanes,
      groupOf: (run) => run.detector.id,
      costOf: (id) => lastDurations.get(id),
      run: async (run, index) => {
        if (!(await keeper.held())) {
          // Two cycles of one tier would read the same watermarks: stop rather than race.
          log.warn("lease lost: another cycle took over a tier", { detector: run.detector.id });
          slots[index] = { ...emptyOutcome(run, "skipped"), reason: LEASE_LOST };
          return;
        }
        const outcome = await runDetector(deps, {
          run,
          config,
          cycleId,
          log,
          now: detectorNow,
          dryRun: request.dry_run,
          availability: availability.get(run.pack.id)!,
          state,
        });
        slots[index] = outcome;
        ranNow.set(run.detector.id, (ranNow.get(run.detector.id) ?? 0) + outcome.duration_ms);
        log.info("detector finished", { ...outcome, examples: undefined });
      },
    });
    for (const [id, ms] of ranNow) lastDurations.set(id, ms);
  } catch (error) {
    infrastructureError = error;
    log.error("cycle aborted", { error: errorMessage(error) });
  }
  // In plan order, whatever order they finished in; a detector an aborted cycle
  // never started has no outcome.
  const outcomes = slots.filter((outcome) => outcome !== undefined);

  const ran = outcomes.filter((o) => o.status === "ok" || o.status === "failed");
  const failed = outcomes.filter((o) => o.status === "failed").length;
  const statusOf = (): CycleSummary["status"] =>
    request.dry_run
      ? "dry_run"
      : infrastructureError || (ran.length > 0 && failed === ran.length)
      ? "failed"
      : failed > 0
      ? "partial"
      : "ok";
  if (!request.dry_run) {
    // Written before the after-cycle hooks, which may spend a while delivering alerts.
    // A cycle that did not fail counts as a success of the cycle breaker; a trial's
    // success is written with the cycle's end, where it closes the breaker.
    if (statusOf() !== "failed" && !cyclePermit.trial) state.successes.push(CYCLE_BREAKER);
    try {
      infrastructureError ??= await cycleRowWritten;
      // Plan order, whichever finished first: the runs of a cycle read top to bottom.
      const runs = state.runs.toSorted((a, b) =>
        slots.indexOf(a.outcome) - slots.indexOf(b.outcome)
      );
      await Promise.all([
        recordRuns(sql, cycleId, runs),
        recordClosedSuccesses(sql, state.successes),
      ]);
    } catch (error) {
      infrastructureError ??= error;
      log.error("cycle bookkeeping failed", { error: errorMessage(error) });
    }
  }
  const status = statusOf();
  const summary: CycleSummary = {
    cycle_id: cycleId,
    tiers: plan.tiers,
    status,
    dry_run: request.dry_run,
    started_at: startedAt.toISOString(),
    duration_ms: 0,
    detectors: outcomes,
    totals: {
      findings: outcomes.reduce((n, o) => n + o.findings, 0),
      new_events: outcomes.reduce((n, o) => n + o.new_events, 0),
      resolved_events: outcomes.reduce((n, o) => n + o.resolved_events, 0),
      failed,
    },
    config_errors: [...config.errors],
    hooks: {},
  };

  if (!request.dry_run && !infrastructureError) {
    for (const hook of deps.hooks?.afterCycle ?? []) {
      try {
        summary.hooks[hook.name] = await hook.run(summary);
      } catch (error) {
        summary.hooks[hook.name] = { error: errorMessage(error) };
        log.error("after-cycle hook failed", { hook: hook.name, error: errorMessage(error) });
      }
    }
  }
  summary.duration_ms = Math.round(performance.now() - started);
  // The lease is released side by side with the cycle's last write, whatever it gives.
  const [finished, released] = await Promise.allSettled([
    request.dry_run ? undefined : finishCycle(sql, summary, {
      trial: cyclePermit.trial,
      failure: infrastructureError
        ? errorMessage(infrastructureError)
        : `all ${ran.length} detectors failed`,
      settings: breakerSettings,
    }),
    releaseLeases(sql, cycleId),
  ]);
  if (released.status === "rejected") {
    log.warn("lease release failed; it expires on its own", {
      error: errorMessage(released.reason),
    });
  }
  if (infrastructureError) throw infrastructureError;
  if (finished.status === "rejected") throw finished.reason;
  log.info("cycle finished", {
    status,
    duration_ms: summary.duration_ms,
    ...summary.totals,
  });
  return { kind: "completed", summary };
}

/**
 * Records how a cycle ended: the cycle breaker's failure, or a half-open trial's
 * success (a closed breaker's success was written with the detector runs), then the
 * cycle row's status and summary.
 */
async function finishCycle(
  sql: Sql,
  summary: CycleSummary,
  breaker: { trial: boolean; failure: string; settings: BreakerSettings },
): Promise<void> {
  if (summary.status === "failed") {
    await recordFailure(sql, CYCLE_BREAKER, breaker.failure, breaker.settings).catch(() => {});
  } else if (breaker.trial) {
    await recordSuccess(sql, CYCLE_BREAKER);
  }
  await recordCycleEnd(sql, summary);
}

/**
 * The permit of breaker `name` from what the cycle read at its start: a closed
 * breaker allows the call without a statement; any other asks Postgres, where the
 * half-open trial is claimed atomically.
 */
async function permitOf(
  sql: Sql,
  state: CycleState,
  name: string,
  settings: BreakerSettings,
): Promise<BreakerPermit> {
  if (!state.breakers.has(name)) return { allowed: true, state: "closed", trial: false };
  return await acquirePermit(sql, name, settings);
}

interface DetectorRunInput {
  run: PlannedRun;
  config: RuntimeConfig;
  cycleId: string;
  log: Logger;
  now: Date;
  dryRun: boolean;
  availability: PackAvailability;
  state: CycleState;
}

/**
 * Runs one detector of a cycle and returns its outcome. Every outcome but a
 * disabled detector's is queued in `input.state.runs` for the end of the cycle.
 */
async function runDetector(deps: CycleDeps, input: DetectorRunInput): Promise<DetectorOutcome> {
  const { run, config, cycleId, dryRun, state } = input;
  const { sql } = deps;
  const { detector } = run;
  const startedAt = performance.now();
  const record = (outcome: DetectorOutcome) => {
    if (!dryRun) state.runs.push({ outcome, startedAt });
    return outcome;
  };
  const detectorSettings = config.get(detectorConfigSpec(detector)) as Record<string, unknown> & {
    enabled: boolean;
  };
  const outcome = emptyOutcome(run, "ok");
  if (!detectorSettings.enabled) {
    return {
      ...outcome,
      status: "skipped",
      reason: `disabled in monitoring_config (detector.${detector.id})`,
    };
  }
  if (!input.availability.available) {
    return record({ ...outcome, status: "skipped", reason: input.availability.reason });
  }

  const breakerSettings = config.get(breakerConfig);
  const breakerName = detectorBreaker(detector.id);
  const permit = dryRun
    ? { allowed: true, state: "closed" as const, trial: false }
    : await permitOf(sql, state, breakerName, breakerSettings);
  if (!permit.allowed) {
    return record({
      ...outcome,
      status: "breaker_open",
      breaker: permit.state,
      reason: `breaker ${permit.state}${
        permit.retryAt ? `, next trial after ${permit.retryAt.toISOString()}` : ""
      }`,
    });
  }

  const { detector_timeout_ms } = config.get(cycleConfig);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`timed out after ${detector_timeout_ms} ms`)),
    detector_timeout_ms,
  );
  const started = performance.now();
  try {
    const result = await transaction(sql, async (tx, withCommit) => {
      // One statement opens the run: its timeout and its watermark.
      const [row] = await tx<{ position: Record<string, unknown> | null }[]>`
        select set_config('statement_timeout', ${String(detector_timeout_ms)}, true),
          (select position from monitoring_watermarks where detector_id = ${watermarkKey(run)})
            as position`;
      const result = await abortable(
        detector.run({
          sql: tx,
          config: detectorSettings,
          runtime: config,
          mode: run.mode,
          tier: run.tier,
          watermark: row?.position ?? null,
          cycleId,
          now: input.now,
          log: input.log.child({ detector: detector.id }),
          signal: controller.signal,
          dryRun,
          env: deps.env,
          horizon: () => sharedHorizon(state, tx),
          prefetched: await state.prefetched,
        }),
        controller.signal,
      );
      if (dryRun) throw new DryRunRollback(result);
      const written = await recordFindings(tx, detector, result, input.now);
      if (written.changes.length > 0 && deps.hooks?.onEventChanges) {
        await deps.hooks.onEventChanges(tx, written.changes, detector, config);
      }
      if (result.watermark) {
        // The last statement travels with COMMIT: a watermark that fails to store
        // rolls the run back, and its rows are examined again next cycle.
        withCommit(tx`
          insert into monitoring_watermarks (detector_id, position, updated_at)
          values (${watermarkKey(run)}, ${tx.json(result.watermark as never)}, now())
          on conflict (detector_id) do update set position = excluded.position, updated_at = now()`);
      }
      return { result, written };
    }).catch((error) => {
      if (error instanceof DryRunRollback) return { result: error.result, written: null };
      throw error;
    });
    Object.assign(outcome, {
      duration_ms: Math.round(performance.now() - started),
      rows_examined: result.result.rowsExamined,
      findings: result.result.findings.length,
      new_events: result.written?.newEvents ?? 0,
      repeated_events: result.written?.repeated ?? 0,
      resolved_events: result.written?.resolved ?? 0,
      report: result.result.report,
      examples: result.result.findings.slice(0, 20).map((finding) => finding.title),
    });
    if (!dryRun) outcome.breaker = await breakerSucceeded(sql, state, breakerName, permit);
    return record(outcome);
  } catch (error) {
    const message = errorMessage(error);
    Object.assign(outcome, {
      status: "failed",
      duration_ms: Math.round(performance.now() - started),
      error: message,
    });
    if (!dryRun) {
      outcome.breaker = await recordFailure(sql, breakerName, message, breakerSettings);
      // A later run of this detector in the same cycle (its sweep) must see the new state.
      if (outcome.breaker === "closed") state.breakers.delete(breakerName);
      else state.breakers.set(breakerName, outcome.breaker);
    }
    record(outcome);
    input.log.warn("detector failed", {
      detector: detector.id,
      error: message,
      breaker: outcome.breaker,
    });
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Records a detector's success on its breaker: a half-open trial closes it at once;
 * a closed breaker's success joins the cycle's single write at its end.
 */
async function breakerSucceeded(
  sql: Sql,
  state: CycleState,
  name: string,
  permit: BreakerPermit,
): Promise<BreakerState> {
  if (!permit.trial) {
    state.successes.push(name);
    return "closed";
  }
  state.breakers.delete(name);
  return await recordSuccess(sql, name);
}

/**
 * The cycle's change-feed horizon, computed in the transaction of the first detector
 * that asks and shared by the rest: one statement per cycle instead of one per
 * detector. A horizon taken earlier in the cycle is as exact as a later one (every
 * transaction below it had finished when it was taken, and detectors read the feed
 * only once they have it); it only leaves what committed since to the next cycle.
 * A failed computation is not kept.
 */
function sharedHorizon(state: CycleState, tx: Tx): Promise<string> {
  if (!state.horizon) {
    const own = snapshotHorizon(tx);
    state.horizon = own;
    own.catch(() => {
      if (state.horizon === own) state.horizon = undefined;
    });
    return own;
  }
  // Another detector's computation failed with its transaction: take one in ours.
  return state.horizon.catch(() => sharedHorizon(state, tx));
}

/** Shares the horizon the feed read-ahead took (see `sharedHorizon`). */
function shareHorizon(state: CycleState, horizon: string): void {
  state.horizon = Promise.resolve(horizon);
}

/** Sweeps keep no position; incremental runs share one per detector. */
function watermarkKey(run: PlannedRun): string {
  return run.mode === "sweep" ? `${run.detector.id}@sweep` : run.detector.id;
}

async function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason;
  return await new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
