/**
 * `deno task bench`: performance figures, each against a baseline measured in the
 * same run, with PASS/MISS per target. Uses DATABASE_URL's server when set, else an
 * embedded Postgres; every section works in scratch databases it drops.
 *
 *   --sizes 1000000,5000000   data sizes in transactions (default)
 *   --quick                   small sizes (100000,500000), for a check in a minute
 *   --runs N                  measured repetitions per size (median reported; default 7)
 *   --only NAME[,NAME]        run only these sections
 */
import { databaseFromEnv } from "../src/db/embedded.ts";
import type { BenchSection, TargetResult } from "./bench/bench_section.ts";
import { scratchDatabases } from "./bench/bench_section.ts";
import { festivalCycleSection } from "./bench/festival_cycle_section.ts";
import { exchangeMediumSection } from "./bench/exchange_medium_section.ts";
import { apiSection } from "./bench/api_section.ts";
import { formatTable, heading } from "../src/demo/text_table.ts";

/** Every section, in the order they run. */
const BENCH_SECTIONS: BenchSection[] = [festivalCycleSection, exchangeMediumSection, apiSection];

function option(name: string): string | undefined {
  const index = Deno.args.indexOf(name);
  if (index === -1) return undefined;
  const value = Deno.args[index + 1];
  if (value === undefined || value.startsWith("--")) {
    console.error(`Cannot parse ${name}: it needs a value`);
    Deno.exit(2);
  }
  return value;
}

function parseSizes(raw: string): number[] {
  const sizes = raw.split(",").map((part) => Number(part.trim().replaceAll("_", "")));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1_000)) {
    console.error(`Cannot parse --sizes: received '${raw}' (integers >= 1000, comma-separated)`);
    Deno.exit(2);
  }
  return sizes.sort((a, b) => a - b);
}

const quick = Deno.args.includes("--quick");
const sizes = parseSizes(option("--sizes") ?? (quick ? "100000,500000" : "1000000,5000000"));
const runs = Number(option("--runs") ?? 7);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`Cannot parse --runs: received '${option("--runs")}' (a positive integer)`);
  Deno.exit(2);
}
const only = option("--only")?.split(",");
const sections = only ? BENCH_SECTIONS.filter((s) => only.includes(s.name)) : BENCH_SECTIONS;
if (only && sections.length !== only.length) {
  console.error(
    `Cannot find section(s) in --only '${only.join(",")}'; known: ${
      BENCH_SECTIONS.map((s) => s.name).join(", ")
    }`,
  );
  Deno.exit(2);
}
if (!Deno.env.get("LOG_LEVEL")) Deno.env.set("LOG_LEVEL", "warn");

// The embedded server gets the memory of a production instance (about a quarter of a
// 4 GB machine's RAM), not Postgres' 128 MB default: the platform's tables and indexes
// at 5 M rows take about 2 GB, and the default would mostly measure the page cache.
const SHARED_BUFFERS = "1GB";
const db = await databaseFromEnv({ flags: ["-c", `shared_buffers=${SHARED_BUFFERS}`] });
console.log(
  `monitoring bench: ${
    db.embedded
      ? `embedded Postgres (shared_buffers ${SHARED_BUFFERS})`
      : "Postgres from DATABASE_URL"
  }, ` +
    `${navigator.hardwareConcurrency} cores, sizes ${sizes.join(", ")}, ${runs} runs each`,
);
const results: { section: string; target: TargetResult }[] = [];
try {
  for (const section of sections) {
    console.log(heading(section.title));
    const load = () => Deno.loadavg().map((n) => n.toFixed(1)).join(" ");
    console.log(`  load average before: ${load()}`);
    const targets = await section.run({
      sizes,
      runs,
      scratchDatabase: scratchDatabases(db.url),
      print: (line = "") => console.log(line),
    });
    console.log(`  load average after: ${load()}`);
    results.push(...targets.map((target) => ({ section: section.name, target })));
  }
} finally {
  await db.stop();
}

console.log(heading("Targets"));
console.log(formatTable(
  [{ header: "" }, { header: "section" }, { header: "target" }, {
    header: "measured",
    align: "right",
  }],
  results.map(({ section, target }) => [
    target.pass ? "PASS" : "MISS",
    section,
    target.target,
    target.measured,
  ]),
));
Deno.exit(results.every(({ target }) => target.pass) ? 0 : 1);
