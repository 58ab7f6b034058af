import type { Sql } from "../../src/db/client.ts";
import { PACKS } from "../../src/detectors/registry.ts";
import { setupPacks } from "../../src/detectors/pack_setup.ts";
import { seedRuntimeConfig } from "../../src/config/runtime_config.ts";
import { allConfigSpecs } from "../../src/config/all_specs.ts";
import { runCycle } from "../../src/cycle/run_cycle.ts";
import type { CycleSummary } from "../../src/cycle/run_cycle.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createPlatformTables } from "../../tests/fixtures/platform_tables.ts";
import { loadFestivalLedger } from "../../src/demo/festival_ledger.ts";
import { appendLiveTraffic } from "../../src/demo/festival_live_batch.ts";
import { formatTable } from "../../src/demo/text_table.ts";
import type { BenchContext, BenchSection, TargetResult } from "./bench_section.ts";
import { median, timed } from "./bench_section.ts";

/** New transactions between two measured cycles. */
const BATCH = 1_000;
/** The cards of the festival (fewer for quick sizes, so each card keeps a real history). */
const CARDS = 100_000;
/** The load spans three festival days. */
const HOURS = 72;

/**
 * The ops guide's balance check: every card's expected balance from all of its
 * completed transactions, compared with table_cards. What an operator runs by hand,
 * and what the incremental critical cycle replaces.
 */
async function fullScanBalanceCheck(sql: Sql): Promise<number> {
  const rows = await sql`
    with expected as (
      select card_id,
        sum(case
          when transaction_type in ('stripe_recharge', 'checkpoint_recharge') then amount_involved
          when transaction_type = 'bar_order' then -amount_involved
          when transaction_type = 'manual_correction' then new_balance - previous_balance
          else 0 end) as expected_balance
      from app_transaction_log
      where status = 'completed'
      group by card_id
    )
    select c.id as card_id, c.amount, e.expected_balance,
      c.amount - e.expected_balance as discrepancy
    from table_cards c join expected e on e.card_id = c.id
    where abs(c.amount - e.expected_balance) > 0.01`;
  return rows.length;
}

async function criticalCycle(sql: Sql): Promise<CycleSummary> {
  return await benchCycle(sql, { tier: "critical" });
}

/**
 * The maintenance tier's balance sweep alone: every card judged from its whole
 * history (what an hourly maintenance cycle does).
 */
async function balanceSweep(sql: Sql): Promise<CycleSummary> {
  return await benchCycle(sql, { tier: "maintenance", detectors: ["balance_mismatch_detection"] });
}

async function benchCycle(
  sql: Sql,
  request: { tier: "critical" | "maintenance"; detectors?: string[] },
): Promise<CycleSummary> {
  const outcome = await runCycle({
    sql,
    packs: PACKS,
    log: createLogger(),
    env: {},
    trigger: "bench",
  }, request);
  if (outcome.kind !== "completed") {
    throw new Error(`${request.tier} cycle did not run: ${outcome.kind}`);
  }
  const failed = outcome.summary.detectors.filter((run) =>
    run.status === "failed" || run.status === "breaker_open"
  );
  if (failed.length > 0) {
    throw new Error(
      `${request.tier} cycle: ${
        failed.map((run) => `${run.detector} ${run.status} ${run.error ?? ""}`)
      }`,
    );
  }
  return outcome.summary;
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtSize = (n: number) =>
  n >= 1_000_000 ? `${n / 1_000_000} M` : n >= 1_000 ? `${n / 1_000} k` : String(n);

interface SizeFigures {
  size: number;
  transactions: number;
  scans: number;
  cards: number;
  loadMs: number;
  setupMs: number;
  warmupMs: number;
  /** The first cycle after the first run, on connections and caches still cold. */
  coldCycleMs: number;
  /** The maintenance balance sweep: every card from its whole history. */
  sweepMs: number;
  cycleMs: number[];
  /** Cycles with nothing new: the fixed cost of a cycle (leases, breakers, runs). */
  emptyCycleMs: number[];
  detectorMs: Map<string, number[]>;
  fullScanMs: number[];
  findings: number;
}

/**
 * Loads a festival of `size` transactions, installs monitoring on it the way a
 * running platform gets it (tables full, then `setup` builds the indexes
 * concurrently and installs capture), advances every watermark with a first
 * cycle, times the first incremental cycle and the maintenance sweep that judges
 * every card (the base the incremental check builds on), then measures the critical
 * cycle after each batch of 1,000 new transactions, and the full-scan balance
 * check on the same data.
 */
async function measureSize(context: BenchContext, size: number): Promise<SizeFigures> {
  const db = await context.scratchDatabase(`festival_${size}`);
  try {
    const { sql } = db;
    await createPlatformTables(sql, ["festival"]);
    const cards = Math.min(CARDS, Math.max(10_000, Math.round(size / 10)));
    const load = await timed(() =>
      sql.begin(async (tx) => {
        await tx`set local work_mem = '256MB'`;
        return await loadFestivalLedger(tx, {
          cards,
          transactions: size,
          hours: HOURS,
          // The bulk ends an hour ago; the backfill window below starts after it.
          until: new Date(Date.now() - 3_600_000),
        });
      })
    );
    await sql`vacuum (analyze) table_cards, app_transaction_log, nfc_scan_log`;
    const setup = await timed(() => setupPacks(sql, PACKS));
    await seedRuntimeConfig(sql, allConfigSpecs(PACKS));
    // Steady state is what is measured: the first run backfills only the last 30 minutes.
    await sql`
      update monitoring_config set value = jsonb_set(value, '{backfill_hours}', '0.5')
      where key = 'cycle'`;
    const warmup = await timed(() => criticalCycle(sql));
    await appendLiveTraffic(sql, BATCH);
    const cold = await timed(() => criticalCycle(sql));
    // Steady state: a running platform's hourly maintenance sweep has judged every card.
    const sweep = await timed(() => balanceSweep(sql));

    const figures: SizeFigures = {
      size,
      ...load.value,
      loadMs: load.ms,
      setupMs: setup.ms,
      warmupMs: warmup.ms,
      coldCycleMs: cold.ms,
      sweepMs: sweep.ms,
      cycleMs: [],
      emptyCycleMs: [],
      detectorMs: new Map(),
      fullScanMs: [],
      findings: 0,
    };
    for (let i = 0; i < context.runs; i++) {
      const batch = await appendLiveTraffic(sql, BATCH);
      if (batch.transactions !== BATCH) {
        throw new Error(`live batch wrote ${batch.transactions} transactions, expected ${BATCH}`);
      }
      const cycle = await timed(() => criticalCycle(sql));
      figures.cycleMs.push(cycle.ms);
      figures.findings += cycle.value.totals.findings;
      for (const run of cycle.value.detectors) {
        const list = figures.detectorMs.get(run.detector) ?? [];
        list.push(run.duration_ms);
        figures.detectorMs.set(run.detector, list);
      }
    }
    for (let i = 0; i < context.runs; i++) {
      figures.emptyCycleMs.push((await timed(() => criticalCycle(sql))).ms);
    }
    for (let i = 0; i < Math.max(3, Math.ceil(context.runs / 2)); i++) {
      figures.fullScanMs.push((await timed(() => fullScanBalanceCheck(sql))).ms);
    }
    return figures;
  } finally {
    await db.drop();
  }
}

/** The critical tier after 1,000 new rows at each size, against the ops guide's full scan. */
export const festivalCycleSection: BenchSection = {
  name: "festival-critical",
  title: "Festival: critical cycle after 1,000 new transactions vs the full-scan balance check",
  async run(context) {
    const results: SizeFigures[] = [];
    for (const size of context.sizes) {
      context.print(`  loading ${fmtSize(size)} transactions...`);
      const figures = await measureSize(context, size);
      results.push(figures);
      context.print(
        `  ${fmtSize(size)}: ${figures.transactions} transactions, ${figures.scans} scans, ` +
          `${figures.cards} cards loaded in ${(figures.loadMs / 1000).toFixed(1)} s; ` +
          `setup (indexes, capture) ${(figures.setupMs / 1000).toFixed(1)} s; ` +
          `first cycle ${fmtMs(figures.warmupMs)} ms; ` +
          `first incremental cycle ${fmtMs(figures.coldCycleMs)} ms; ` +
          `maintenance balance sweep (every card) ${fmtMs(figures.sweepMs)} ms`,
      );
    }
    context.print("");
    context.print(formatTable(
      [
        { header: "size" },
        { header: "transactions", align: "right" },
        { header: "cycle median ms", align: "right" },
        { header: "min", align: "right" },
        { header: "max", align: "right" },
        { header: "empty cycle ms", align: "right" },
        { header: "full scan ms", align: "right" },
        { header: "full / cycle", align: "right" },
        { header: "findings", align: "right" },
      ],
      results.map((r) => [
        fmtSize(r.size),
        r.transactions,
        fmtMs(median(r.cycleMs)),
        fmtMs(Math.min(...r.cycleMs)),
        fmtMs(Math.max(...r.cycleMs)),
        fmtMs(median(r.emptyCycleMs)),
        fmtMs(median(r.fullScanMs)),
        `${(median(r.fullScanMs) / median(r.cycleMs)).toFixed(1)}x`,
        r.findings,
      ]),
    ));
    context.print("");
    const detectors = [...(results[0]?.detectorMs.keys() ?? [])];
    context.print(formatTable(
      [
        { header: "detector (median ms)" },
        ...results.map((r) => ({ header: fmtSize(r.size), align: "right" as const })),
      ],
      detectors.map((id) => [
        id,
        ...results.map((r) => fmtMs(median(r.detectorMs.get(id) ?? [0]))),
      ]),
    ));

    const largest = results[results.length - 1];
    const smallest = results[0];
    const cycleAt = (r: SizeFigures) => median(r.cycleMs);
    const targets: TargetResult[] = [
      {
        target: `critical cycle <= 100 ms at ${fmtSize(largest.size)}`,
        measured: `${fmtMs(cycleAt(largest))} ms`,
        pass: cycleAt(largest) <= 100,
      },
      {
        target: `>= 40x faster than the full scan at ${fmtSize(largest.size)}`,
        measured: `${(median(largest.fullScanMs) / cycleAt(largest)).toFixed(1)}x`,
        pass: median(largest.fullScanMs) / cycleAt(largest) >= 40,
      },
    ];
    if (results.length > 1) {
      const ratio = cycleAt(largest) / cycleAt(smallest);
      targets.push({
        target: `time at ${fmtSize(largest.size)} <= 1.5x time at ${fmtSize(smallest.size)}`,
        measured: `${ratio.toFixed(2)}x`,
        pass: ratio <= 1.5,
      });
    }
    targets.push({
      target: "no findings on clean live traffic",
      measured: String(results.reduce((n, r) => n + r.findings, 0)),
      pass: results.every((r) => r.findings === 0),
    });
    return targets;
  },
};
