import type { Sql, Tx } from "../db/client.ts";
import type { Tier } from "../detectors/types.ts";

/** Who holds a tier when a lease could not be taken. */
export interface LeaseHolder {
  tier: Tier;
  cycle_id: string;
  holder: string;
  expires_at: Date;
}

export type LeaseResult = { acquired: true } | { acquired: false; heldBy: LeaseHolder };

class LeaseTaken extends Error {
  constructor(readonly heldBy: LeaseHolder) {
    super(`tier ${heldBy.tier} is already running`);
  }
}

interface LeaseRequest {
  tiers: readonly Tier[];
  cycleId: string;
  holder: string;
  seconds: number;
}

/**
 * Takes one tier's lease unless an unexpired one is held; throws `LeaseTaken` if so.
 * Outside a transaction the holder may release between the two statements: then
 * the tier is free and the take is tried again.
 */
async function takeLease(
  sql: Sql | Tx,
  tier: Tier,
  options: LeaseRequest,
  attempts = 3,
): Promise<void> {
  const [taken] = await sql`
    insert into monitoring_cycle_leases as l (tier, cycle_id, holder, expires_at)
    values (${tier}, ${options.cycleId}, ${options.holder},
      now() + ${`${options.seconds} seconds`}::interval)
    on conflict (tier) do update set
      cycle_id = excluded.cycle_id, holder = excluded.holder,
      acquired_at = now(), expires_at = excluded.expires_at
    where l.expires_at < now()
    returning tier`;
  if (!taken) {
    const [held] = await sql<LeaseHolder[]>`
      select tier, cycle_id, holder, expires_at from monitoring_cycle_leases
      where tier = ${tier}`;
    if (!held && attempts > 1) return await takeLease(sql, tier, options, attempts - 1);
    throw new LeaseTaken(held);
  }
}

/**
 * Takes the lease of every tier in `tiers` for `cycleId`, all or none. A lease is a
 * row with an expiry: a process killed mid-cycle never leaves a tier locked for
 * longer than `seconds`. Two callers racing for one tier serialise on the row, and
 * the second finds it unexpired. A single tier (what the scheduler asks for) is one
 * statement, atomic on its own; several tiers share a transaction.
 */
export async function acquireLeases(sql: Sql, options: LeaseRequest): Promise<LeaseResult> {
  // A fixed order keeps two multi-tier callers from deadlocking.
  const tiers = [...options.tiers].sort();
  try {
    if (tiers.length === 1) {
      await takeLease(sql, tiers[0], options);
    } else {
      await sql.begin(async (tx) => {
        for (const tier of tiers) await takeLease(tx, tier, options);
      });
    }
    return { acquired: true };
  } catch (error) {
    if (error instanceof LeaseTaken) return { acquired: false, heldBy: error.heldBy };
    throw error;
  }
}

/** Releases the leases `cycleId` holds (and only those). */
export async function releaseLeases(sql: Sql, cycleId: string): Promise<void> {
  await sql`delete from monitoring_cycle_leases where cycle_id = ${cycleId}`;
}

/**
 * Pushes the expiry of the leases `cycleId` holds `seconds` ahead, so a cycle that
 * outlives one lease keeps its tiers (see {@linkcode leaseKeeper}).
 *
 * @returns how many tiers `cycleId` still holds: fewer than it took means a lease
 * expired and another cycle took the tier over.
 */
export async function renewLeases(sql: Sql, cycleId: string, seconds: number): Promise<number> {
  const rows = await sql`
    update monitoring_cycle_leases set expires_at = now() + ${`${seconds} seconds`}::interval
    where cycle_id = ${cycleId}
    returning tier`;
  return rows.length;
}

/**
 * Keeps a cycle's leases while its detectors run: `held()` renews them once a
 * quarter of the lease has passed since the last renewal (so a lease only has to
 * outlast one detector's timeout), and answers whether the cycle still holds every
 * tier. Detectors running side by side share one renewal in flight.
 *
 * @throws {Error} from `held()` when the renewal itself fails.
 */
export function leaseKeeper(
  sql: Sql,
  options: { cycleId: string; tiers: number; seconds: number },
): { held(): Promise<boolean> } {
  const renewEveryMs = (options.seconds * 1000) / 4;
  let renewedAt = performance.now();
  let lost = false;
  let renewal: Promise<void> | null = null;
  return {
    async held() {
      if (!lost && performance.now() - renewedAt >= renewEveryMs) {
        renewal ??= renewLeases(sql, options.cycleId, options.seconds)
          .then((held) => {
            lost ||= held < options.tiers;
            renewedAt = performance.now();
          })
          .finally(() => (renewal = null));
        await renewal;
      }
      return !lost;
    },
  };
}
