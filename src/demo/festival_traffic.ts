import type { Sql, Tx } from "../db/client.ts";
import { createPlatformTables } from "../../tests/fixtures/platform_tables.ts";
import { festivalCardId, loadFestivalLedger } from "./festival_ledger.ts";
import type { PackTraffic, PlantedAnomaly, TrafficOptions } from "./pack_traffic.ts";

/** Size of the demo festival: hundreds of cards, thousands of transactions over six hours. */
export const FESTIVAL_DEMO_SIZE = { cards: 600, transactions: 9_600, hours: 6 };

type TxKind = "stripe_recharge" | "checkpoint_recharge" | "bar_order" | "manual_correction";

/** One hand-written ledger row of a planted card (minutes before now). */
interface PlantRow {
  card: string;
  minutesAgo: number;
  kind: TxKind;
  status?: "completed" | "failed";
  amount: number;
  previous: number;
  next: number;
  /** Reader that scanned the card just before (none for online recharges). */
  reader?: string;
}

/** An extra scan of a planted card, seconds after `minutesAgo`. */
interface PlantScan {
  card: string;
  minutesAgo: number;
  plusMs: number;
  reader: string;
}

/**
 * The planted cards, numbered after the clean ones so they look like any other
 * card. Each plant is a short, complete story; the look-alikes are stories a naive
 * monitor would flag but ours must not.
 */
function plantCards(first: number) {
  const id = (i: number) => festivalCardId(first + i);
  return {
    deducted: id(0),
    overCredited: id(1),
    underCredited: id(2),
    centsOff: id(3),
    correctedByHand: id(4),
    failureStreak: id(5),
    brokenStreak: id(6),
    scannedTwice: id(7),
    chargedTwice: id(8),
    scannedSecondsApart: id(9),
    offline: [id(10), id(11), id(12), id(13), id(14)],
    offlineDeducted: id(15),
  };
}

async function insertPlantRows(sql: Tx, rows: PlantRow[], scans: PlantScan[], now: Date) {
  const at = (minutesAgo: number, plusMs = 0) =>
    new Date(now.getTime() - minutesAgo * 60_000 + plusMs);
  const ledger = rows.map((row) => ({
    transaction_id: crypto.randomUUID(),
    card_id: row.card,
    transaction_type: row.kind,
    status: row.status ?? "completed",
    amount_involved: row.amount,
    previous_balance: row.previous,
    new_balance: row.next,
    timestamp: at(row.minutesAgo),
    details: row.reader ? { reader_id: row.reader } : { channel: "stripe" },
  }));
  const scanRows = [
    ...rows.filter((row) => row.reader).map((row) => ({
      card_id_scanned: row.card,
      reader_id: row.reader!,
      scan_timestamp: at(row.minutesAgo, -800),
    })),
    ...scans.map((scan) => ({
      card_id_scanned: scan.card,
      reader_id: scan.reader,
      scan_timestamp: at(scan.minutesAgo, scan.plusMs - 800),
    })),
  ];
  if (ledger.length) await sql`insert into app_transaction_log ${sql(ledger)}`;
  if (scanRows.length) await sql`insert into nfc_scan_log ${sql(scanRows)}`;
}

/**
 * Sets planted cards' stored amounts to what their ledger implies plus `skew`
 * (what the platform got wrong), in one statement.
 */
async function settleCards(sql: Tx, skews: Record<string, number>) {
  const cards = Object.keys(skews);
  const offsets = Object.values(skews);
  await sql`
    insert into table_cards (id, amount, updated_at)
    select s.card_id, coalesce(l.expected, 0) + s.skew, now()
    from unnest(${cards}::text[], ${offsets}::numeric[]) as s(card_id, skew)
    left join lateral (
      select sum(case transaction_type when 'bar_order' then -amount_involved
        when 'manual_correction' then new_balance - previous_balance
        else amount_involved end) as expected
      from app_transaction_log where card_id = s.card_id and status = 'completed'
    ) l on true
    on conflict (id) do update set amount = excluded.amount, updated_at = excluded.updated_at`;
}

/**
 * The festival pack's demo traffic: a busy evening of recharges, bar orders and
 * scans ({@linkcode loadFestivalLedger}), a handful of planted anomalies and their
 * look-alikes, and an offline bar terminal that syncs hours-old orders after the
 * first cycles ran.
 */
export function festivalTraffic(size = FESTIVAL_DEMO_SIZE): PackTraffic {
  const cards = plantCards(size.cards + 1);
  return {
    pack: "festival",
    createTables: (sql) => createPlatformTables(sql, ["festival"]),

    async generate(sql: Sql, { now }: TrafficOptions): Promise<PlantedAnomaly[]> {
      await loadFestivalLedger(sql, { ...size, until: new Date(now.getTime() - 60_000) });
      const c = cards;
      const rows: PlantRow[] = [
        // A declined bar order that still took 12.50 off the card.
        {
          card: c.deducted,
          minutesAgo: 190,
          kind: "stripe_recharge",
          amount: 50,
          previous: 0,
          next: 50,
        },
        {
          card: c.deducted,
          minutesAgo: 130,
          kind: "bar_order",
          status: "failed",
          amount: 12.5,
          previous: 50,
          next: 37.5,
          reader: "bar-03",
        },
        // Cards whose stored amount drifted from their ledger.
        {
          card: c.overCredited,
          minutesAgo: 240,
          kind: "checkpoint_recharge",
          amount: 40,
          previous: 0,
          next: 40,
          reader: "checkpoint-2",
        },
        {
          card: c.overCredited,
          minutesAgo: 200,
          kind: "bar_order",
          amount: 8,
          previous: 40,
          next: 32,
          reader: "bar-07",
        },
        {
          card: c.underCredited,
          minutesAgo: 150,
          kind: "stripe_recharge",
          amount: 30,
          previous: 0,
          next: 30,
        },
        {
          card: c.underCredited,
          minutesAgo: 120,
          kind: "bar_order",
          amount: 6.5,
          previous: 30,
          next: 23.5,
          reader: "bar-12",
        },
        {
          card: c.underCredited,
          minutesAgo: 90,
          kind: "bar_order",
          amount: 4,
          previous: 23.5,
          next: 19.5,
          reader: "bar-12",
        },
        {
          card: c.centsOff,
          minutesAgo: 75,
          kind: "stripe_recharge",
          amount: 20,
          previous: 0,
          next: 20,
        },
        // Look-alike: a drift an operator already fixed with a manual correction.
        {
          card: c.correctedByHand,
          minutesAgo: 300,
          kind: "stripe_recharge",
          amount: 30,
          previous: 0,
          next: 30,
        },
        {
          card: c.correctedByHand,
          minutesAgo: 280,
          kind: "bar_order",
          amount: 10,
          previous: 30,
          next: 20,
          reader: "bar-01",
        },
        {
          card: c.correctedByHand,
          minutesAgo: 100,
          kind: "manual_correction",
          amount: 5,
          previous: 20,
          next: 25,
        },
        // Four declines in a row within seven minutes.
        {
          card: c.failureStreak,
          minutesAgo: 60,
          kind: "stripe_recharge",
          amount: 40,
          previous: 0,
          next: 40,
        },
        ...[40, 38, 36, 33].map((minutesAgo): PlantRow => ({
          card: c.failureStreak,
          minutesAgo,
          kind: "bar_order",
          status: "failed",
          amount: 9,
          previous: 40,
          next: 40,
          reader: "bar-09",
        })),
        {
          card: c.failureStreak,
          minutesAgo: 25,
          kind: "bar_order",
          amount: 9,
          previous: 40,
          next: 31,
          reader: "bar-09",
        },
        // Look-alike: declines broken by a success.
        {
          card: c.brokenStreak,
          minutesAgo: 70,
          kind: "stripe_recharge",
          amount: 40,
          previous: 0,
          next: 40,
        },
        {
          card: c.brokenStreak,
          minutesAgo: 50,
          kind: "bar_order",
          status: "failed",
          amount: 9,
          previous: 40,
          next: 40,
          reader: "bar-10",
        },
        {
          card: c.brokenStreak,
          minutesAgo: 48,
          kind: "bar_order",
          status: "failed",
          amount: 9,
          previous: 40,
          next: 40,
          reader: "bar-10",
        },
        {
          card: c.brokenStreak,
          minutesAgo: 46,
          kind: "bar_order",
          amount: 9,
          previous: 40,
          next: 31,
          reader: "bar-10",
        },
        {
          card: c.brokenStreak,
          minutesAgo: 44,
          kind: "bar_order",
          status: "failed",
          amount: 9,
          previous: 31,
          next: 31,
          reader: "bar-10",
        },
        // A double tap charged once, a double tap charged twice.
        {
          card: c.scannedTwice,
          minutesAgo: 110,
          kind: "stripe_recharge",
          amount: 30,
          previous: 0,
          next: 30,
        },
        {
          card: c.scannedTwice,
          minutesAgo: 55,
          kind: "bar_order",
          amount: 7.5,
          previous: 30,
          next: 22.5,
          reader: "bar-05",
        },
        {
          card: c.chargedTwice,
          minutesAgo: 170,
          kind: "stripe_recharge",
          amount: 50,
          previous: 0,
          next: 50,
        },
        {
          card: c.chargedTwice,
          minutesAgo: 35,
          kind: "bar_order",
          amount: 9,
          previous: 50,
          next: 41,
          reader: "bar-11",
        },
        {
          card: c.chargedTwice,
          minutesAgo: 35 - 1.2 / 60,
          kind: "bar_order",
          amount: 9,
          previous: 41,
          next: 32,
          reader: "bar-11",
        },
        // Look-alike: the same card at the same bar, five seconds later.
        {
          card: c.scannedSecondsApart,
          minutesAgo: 95,
          kind: "stripe_recharge",
          amount: 30,
          previous: 0,
          next: 30,
        },
        {
          card: c.scannedSecondsApart,
          minutesAgo: 65,
          kind: "bar_order",
          amount: 6,
          previous: 30,
          next: 24,
          reader: "bar-02",
        },
        {
          card: c.scannedSecondsApart,
          minutesAgo: 65 - 5 / 60,
          kind: "bar_order",
          amount: 4,
          previous: 24,
          next: 20,
          reader: "bar-02",
        },
        // The offline terminal's customers recharged before the terminal dropped off.
        ...[...c.offline, c.offlineDeducted].map((card): PlantRow => ({
          card,
          minutesAgo: 360,
          kind: "stripe_recharge",
          amount: 40,
          previous: 0,
          next: 40,
        })),
      ];
      const scans: PlantScan[] = [{
        card: c.scannedTwice,
        minutesAgo: 55,
        plusMs: 800,
        reader: "bar-05",
      }];
      await insertPlantRows(sql, rows, scans, now);
      const skews: Record<string, number> = Object.fromEntries(
        [...new Set(rows.map((row) => row.card))].map((card) => [card, 0]),
      );
      Object.assign(skews, {
        [c.deducted]: -12.5,
        [c.overCredited]: 25,
        [c.underCredited]: -4.5,
        [c.centsOff]: 0.5,
      });
      await settleCards(sql, skews);
      const mismatch = (subject: string) => ({
        detector: "balance_mismatch_detection",
        severity: "CRITICAL" as const,
        subject,
      });
      return [
        {
          pack: "festival",
          label: `failed bar order that deducted 12.50 (${c.deducted})`,
          expect: [
            { detector: "balance_deduction_on_failure", severity: "CRITICAL", subject: c.deducted },
            mismatch(c.deducted),
          ],
        },
        {
          pack: "festival",
          label: `card credited 25.00 too much (${c.overCredited})`,
          expect: [mismatch(c.overCredited)],
        },
        {
          pack: "festival",
          label: `card short by 4.50 (${c.underCredited})`,
          expect: [mismatch(c.underCredited)],
        },
        {
          pack: "festival",
          label: `card 0.50 off its ledger (${c.centsOff})`,
          expect: [mismatch(c.centsOff)],
        },
        {
          pack: "festival",
          label: `four declines in a row in 7 minutes (${c.failureStreak})`,
          expect: [{
            detector: "consecutive_failures",
            severity: "HIGH",
            subject: c.failureStreak,
          }],
        },
        {
          pack: "festival",
          label: `card scanned twice 800 ms apart (${c.scannedTwice})`,
          expect: [{
            detector: "duplicate_nfc_scans",
            severity: "MEDIUM",
            subject: c.scannedTwice,
          }],
        },
        {
          pack: "festival",
          label: `double scan charged twice 9.00 (${c.chargedTwice})`,
          expect: [{ detector: "duplicate_nfc_scans", severity: "HIGH", subject: c.chargedTwice }],
        },
      ];
    },

    async late(sql: Sql, { now }: TrafficOptions): Promise<PlantedAnomaly[]> {
      const c = cards;
      const rows: PlantRow[] = [
        ...c.offline.map((card, i): PlantRow => ({
          card,
          minutesAgo: 300 - 7 * i,
          kind: "bar_order",
          amount: 7.5,
          previous: 40,
          next: 32.5,
          reader: "bar-offline-07",
        })),
        {
          card: c.offlineDeducted,
          minutesAgo: 260,
          kind: "bar_order",
          status: "failed",
          amount: 15,
          previous: 40,
          next: 25,
          reader: "bar-offline-07",
        },
      ];
      // The terminal's sync writes its rows and the card balances in one transaction.
      await sql.begin(async (tx) => {
        await insertPlantRows(tx, rows, [], now);
        await settleCards(tx, {
          ...Object.fromEntries(c.offline.map((card) => [card, 0])),
          [c.offlineDeducted]: -15,
        });
      });
      return [{
        pack: "festival",
        label:
          `offline terminal synced a 4 h old failed order that deducted 15.00 (${c.offlineDeducted})`,
        expect: [
          {
            detector: "balance_deduction_on_failure",
            severity: "CRITICAL",
            subject: c.offlineDeducted,
          },
          {
            detector: "balance_mismatch_detection",
            severity: "CRITICAL",
            subject: c.offlineDeducted,
          },
        ],
      }];
    },

    async figures(sql: Sql) {
      const [f] = await sql<{
        cards: number;
        stripe: number;
        checkpoint: number;
        bar_orders: number;
        declined: number;
        scans: number;
        spent: number;
        first_at: Date;
        last_at: Date;
      }[]>`
        select (select count(*) from table_cards)::int as cards,
          count(*) filter (where transaction_type = 'stripe_recharge')::int as stripe,
          count(*) filter (where transaction_type = 'checkpoint_recharge')::int as checkpoint,
          count(*) filter (where transaction_type = 'bar_order')::int as bar_orders,
          count(*) filter (where status = 'failed')::int as declined,
          (select count(*) from nfc_scan_log)::int as scans,
          coalesce(sum(amount_involved) filter (
            where transaction_type = 'bar_order' and status = 'completed'), 0) as spent,
          min("timestamp") as first_at, max("timestamp") as last_at
        from app_transaction_log`;
      const hours = (f.last_at.getTime() - f.first_at.getTime()) / 3_600_000;
      return [
        { label: "cards", value: f.cards },
        { label: "stripe recharges", value: f.stripe },
        { label: "checkpoint recharges", value: f.checkpoint },
        { label: "bar orders", value: `${f.bar_orders} (${f.declined} declined)` },
        { label: "spent at the bars", value: f.spent.toFixed(2) },
        { label: "NFC scans", value: f.scans },
        { label: "time span", value: `${hours.toFixed(1)} h` },
      ];
    },
  };
}
