import { parseArgs } from "node:util";
import { UsageError } from "./cli_io.ts";

/** Option specs as `node:util` parseArgs takes them. */
export type OptionSpecs = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/**
 * Parses a command's arguments strictly: an unknown option or a missing value is a
 * {@linkcode UsageError} naming it, never silently ignored.
 *
 * @param positionals how many positional arguments the command takes: [min, max].
 */
export function parseCommand<O extends OptionSpecs>(
  command: string,
  args: string[],
  options: O,
  positionals: [min: number, max: number] = [0, 0],
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
  const [min, max] = positionals;
  if (parsed.positionals.length < min) {
    throw new UsageError(`${command}: missing argument`);
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(`${command}: unexpected argument '${parsed.positionals[max]}'`);
  }
  return parsed;
}

/** Parses an event or silence id: a positive integer. */
export function parseId(command: string, raw: string | undefined): number {
  if (!raw || !/^[1-9]\d{0,15}$/.test(raw)) {
    throw new UsageError(`${command}: Cannot parse id: received '${raw ?? ""}'`);
  }
  return Number(raw);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses a duration such as `90s`, `15m`, `2h`, `7d` into milliseconds. */
export function parseDuration(option: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(raw.trim());
  if (!match) {
    throw new UsageError(
      `--${option}: Cannot parse duration: received '${raw}' (e.g. 30m, 2h, 7d)`,
    );
  }
  return Number(match[1]) * UNIT_SECONDS[match[2]] * 1000;
}

/** A time given as an ISO timestamp or as a duration ago (`24h` = 24 hours ago). */
export function parseTime(option: string, raw: string, now = Date.now()): string {
  if (/^\d+(?:\.\d+)?[smhdw]$/.test(raw.trim())) {
    return new Date(now - parseDuration(option, raw)).toISOString();
  }
  const parsed = Date.parse(raw);
  if (Number.isNaN(parsed)) {
    throw new UsageError(
      `--${option}: Cannot parse time: received '${raw}' (ISO 8601 or e.g. 24h)`,
    );
  }
  return new Date(parsed).toISOString();
}
