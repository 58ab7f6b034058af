import type { DetectorContext, DetectorResult, Finding } from "./types.ts";

/** What a slot-evaluated detector computes at the start of a slot. */
export interface SlotVerdict {
  findings: Finding[];
  rowsExamined: number;
}

/**
 * Evaluates a daily comparison once per slot of `slotMinutes`, at the slot's start,
 * and repeats that verdict for the rest of the slot. Daily rules (today against the
 * same part of the last week) scan days of rows, and their answer barely moves in
 * two minutes: evaluating over whole slots bounds that cost to one cycle in a few,
 * delays a verdict by at most one slot, and keeps today and its baseline covering
 * exactly the same span of their days. The verdict lives in the detector's watermark
 * with the config it was computed under, so a tuned threshold takes effect at once.
 * `slotMinutes = 0` evaluates at every run, at `ctx.now`.
 *
 * @param evaluate computes the verdict as of the given instant
 */
export async function evaluatePerSlot<C>(
  ctx: DetectorContext<C>,
  slotMinutes: number,
  evaluate: (at: Date) => Promise<SlotVerdict>,
): Promise<DetectorResult> {
  if (slotMinutes <= 0) return await evaluate(ctx.now);
  const slotMs = slotMinutes * 60_000;
  const slot = new Date(Math.floor(ctx.now.getTime() / slotMs) * slotMs).toISOString();
  const config = JSON.stringify(ctx.config);
  const cached = ctx.watermark;
  if (cached?.slot === slot && cached.config === config && Array.isArray(cached.findings)) {
    return { findings: cached.findings as Finding[], rowsExamined: 0, watermark: cached };
  }
  const verdict = await evaluate(new Date(slot));
  return { ...verdict, watermark: { slot, config, findings: verdict.findings } };
}
