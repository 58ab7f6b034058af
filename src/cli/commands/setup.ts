import { connect } from "../../db/client.ts";
import { allConfigSpecs } from "../../config/all_specs.ts";
import { seedRuntimeConfig } from "../../config/runtime_config.ts";
import { setupPacks } from "../../detectors/pack_setup.ts";
import { PACKS } from "../../detectors/registry.ts";
import type { Command } from "../cli_io.ts";
import { EXIT, printJson, UsageError } from "../cli_io.ts";
import { parseCommand } from "../parse_args.ts";
import { renderTable } from "../table.ts";

/**
 * `monitor setup`: prepares a database the migrations have already created (run
 * `supabase db push` first). Seeds missing `monitoring_config` rows with their
 * defaults (never overwriting an operator's values) and, for each pack whose tables
 * exist, installs change capture and builds its indexes CONCURRENTLY, so the
 * platform's writes are never blocked. Idempotent; prints what it created.
 * Connects directly (SUPABASE_DB_URL or DATABASE_URL): index builds need a session,
 * so use the direct connection or the session pooler (5432), not the transaction pooler.
 */
export const setup: Command = async (args, ctx) => {
  parseCommand("setup", args, {});
  const url = ctx.env.SUPABASE_DB_URL || ctx.env.DATABASE_URL;
  if (!url) {
    throw new UsageError(
      "setup: set SUPABASE_DB_URL or DATABASE_URL to the project's database (direct or session pooler)",
    );
  }
  const sql = connect(url, { max: 1, applicationName: "monitoring-setup" });
  try {
    const [schema] = await sql<{ ready: boolean }[]>`
      select to_regclass('monitoring_config') is not null as ready`;
    if (!schema.ready) {
      ctx.err(
        "setup: the monitoring schema is missing: push the migrations first (supabase db push)",
      );
      return EXIT.failed;
    }
    const specs = allConfigSpecs(PACKS);
    const existing = new Set(
      (await sql<{ key: string }[]>`select key from monitoring_config`).map((row) => row.key),
    );
    await seedRuntimeConfig(sql, specs);
    const seeded = specs.map((spec) => spec.key).filter((key) => !existing.has(key));
    const packs = await setupPacks(sql, PACKS);
    if (ctx.json) {
      printJson(ctx, { config_seeded: seeded, packs });
      return EXIT.ok;
    }
    ctx.out(
      seeded.length
        ? `config: seeded ${seeded.length} keys with defaults (${seeded.join(", ")})`
        : "config: every key already present (operator values kept)",
    );
    ctx.out(renderTable(packs, [
      { header: "PACK", value: (p) => p.pack },
      { header: "STATUS", value: (p) => p.status },
      { header: "CAPTURE", value: (p) => p.capture.join(", ") },
      { header: "INDEXES CREATED", value: (p) => p.indexesCreated.join(", "), max: 80 },
      { header: "ALREADY THERE", value: (p) => p.indexesPresent.length, align: "right" },
      { header: "NOTE", value: (p) => p.reason ?? "" },
    ]));
    return EXIT.ok;
  } finally {
    await sql.end({ timeout: 2 });
  }
};
