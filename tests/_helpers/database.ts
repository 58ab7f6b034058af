import type { Sql } from "../../src/db/client.ts";
import { connect } from "../../src/db/client.ts";

/** A database made for one test file, dropped by `drop()`. */
export interface TestDatabase {
  sql: Sql;
  url: string;
  name: string;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = Deno.env.get("TEST_SERVER_URL");
  if (!url) {
    throw new Error("TEST_SERVER_URL is not set: run the suite with `deno task test`");
  }
  return url;
}

/** The URL of database `name` on the test server. */
export function databaseUrlFor(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Creates a fresh database for one test file. By default it is a copy of the
 * migrated template that `deno task test` prepared; `{ empty: true }` gives an
 * unmigrated one (for migration tests).
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = connect(serverUrl(), { max: 1 });
  const template = options.empty
    ? "template0"
    : Deno.env.get("TEST_TEMPLATE_DB") ?? "monitoring_template";
  try {
    await admin`create database ${admin(name)} template ${admin(template)}`;
  } finally {
    await admin.end();
  }
  const url = databaseUrlFor(name);
  const sql = connect(url, { max: 4 });
  return {
    sql,
    url,
    name,
    async drop() {
      await sql.end({ timeout: 1 });
      const admin = connect(serverUrl(), { max: 1 });
      try {
        await admin`drop database if exists ${admin(name)} with (force)`;
      } finally {
        await admin.end();
      }
    },
  };
}
