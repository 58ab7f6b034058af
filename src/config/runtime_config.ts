import { z } from "zod";
import type { Tx } from "../db/client.ts";

/** One key of `monitoring_config`: its schema (whose defaults are the documented defaults). */
export interface ConfigSpec<S extends z.ZodType = z.ZodType> {
  key: string;
  description: string;
  schema: S;
}

/** A row that failed validation and was replaced by its default. */
export interface ConfigError {
  key: string;
  message: string;
}

/** Validated runtime configuration with the errors met while loading it. */
export class RuntimeConfig {
  constructor(
    private readonly values: ReadonlyMap<string, unknown>,
    readonly errors: readonly ConfigError[],
  ) {}

  /** The validated value of `spec`, or its default when the row is missing or invalid. */
  get<S extends z.ZodType>(spec: ConfigSpec<S>): z.infer<S> {
    if (this.values.has(spec.key)) return this.values.get(spec.key) as z.infer<S>;
    return spec.schema.parse({}) as z.infer<S>;
  }
}

/** Defines a config key whose value is an object; every field must have a default. */
export function defineConfig<S extends z.ZodType>(
  key: string,
  description: string,
  schema: S,
): ConfigSpec<S> {
  return { key, description, schema };
}

/** Formats a zod error as "field: message; field: message". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(value)"}: ${issue.message}`)
    .join("; ");
}

/**
 * Top-level fields of a config row that its schema does not know. zod drops them
 * silently, so an operator's typo (`min_failure`) would otherwise change nothing
 * without a word.
 */
function unknownFields(schema: z.ZodType, raw: unknown): string[] {
  if (!(schema instanceof z.ZodObject) || raw === null || typeof raw !== "object") return [];
  if (Array.isArray(raw)) return [];
  return Object.keys(raw).filter((field) => !(field in schema.shape));
}

/** What validating one row against its spec gave: the value to use and, if any, the error. */
interface Validated {
  value: unknown;
  error?: string;
}

function validate(spec: ConfigSpec, raw: unknown): Validated {
  const parsed = spec.schema.safeParse(raw ?? {});
  if (!parsed.success) {
    return {
      value: spec.schema.parse({}),
      error: `${describeZodError(parsed.error)} (using defaults)`,
    };
  }
  const unknown = unknownFields(spec.schema, raw);
  if (unknown.length === 0) return { value: parsed.data };
  return {
    value: parsed.data,
    error: `unknown field${unknown.length > 1 ? "s" : ""} ${
      unknown.map((field) => `'${field}'`).join(", ")
    } (ignored; check the spelling)`,
  };
}

/**
 * The last validation of each spec, keyed by the row's JSON text. Rows rarely
 * change while cycles run every few seconds, and parsing every key's schema on
 * every cycle costs more CPU than the query that reads them. Values are shared
 * between loads, so callers treat them as read-only (as they always should).
 */
const validated = new WeakMap<ConfigSpec, { text: string; result: Validated }>();

function validateCached(spec: ConfigSpec, raw: unknown): Validated {
  const text = raw === undefined ? "" : JSON.stringify(raw);
  const cached = validated.get(spec);
  if (cached && cached.text === text) return cached.result;
  const result = validate(spec, raw);
  validated.set(spec, { text, result });
  return result;
}

/**
 * Loads `monitoring_config` and validates each known key. A row that fails its schema
 * never stops a cycle: the default is used and the error is kept for `/status`.
 */
export async function loadRuntimeConfig(
  sql: Tx,
  specs: readonly ConfigSpec[],
): Promise<RuntimeConfig> {
  const rows = await sql<{ key: string; value: unknown }[]>`
    select key, value from monitoring_config`;
  const byKey = new Map(rows.map((row) => [row.key, row.value]));
  const values = new Map<string, unknown>();
  const errors: ConfigError[] = [];
  for (const spec of specs) {
    const { value, error } = validateCached(spec, byKey.get(spec.key));
    values.set(spec.key, value);
    if (error) errors.push({ key: spec.key, message: error });
  }
  return new RuntimeConfig(values, errors);
}

/**
 * Writes every spec's default as a row unless the operator already has one, so
 * operators can see what to tune (`UPDATE monitoring_config SET value = ...`).
 */
export async function seedRuntimeConfig(sql: Tx, specs: readonly ConfigSpec[]): Promise<number> {
  let inserted = 0;
  for (const spec of specs) {
    const value = spec.schema.parse({});
    const result = await sql`
      insert into monitoring_config (key, value, description, updated_by)
      values (${spec.key}, ${sql.json(value as never)}, ${spec.description}, 'seed')
      on conflict (key) do nothing`;
    inserted += result.count;
  }
  return inserted;
}
