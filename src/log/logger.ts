/** Severity of a log line. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured fields attached to every line a logger writes (e.g. `cycle_id`). */
export type LogFields = Record<string, unknown>;

/** A JSON-lines logger: one object per line on stdout, errors on stderr. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (for example the cycle id). */
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function currentLevel(): LogLevel {
  const raw = Deno.env.get("LOG_LEVEL")?.toLowerCase();
  return raw && raw in ORDER ? raw as LogLevel : "info";
}

/**
 * Creates a JSON-lines logger. `LOG_LEVEL` (debug|info|warn|error) filters lines;
 * `LOG_LEVEL=silent` turns it off (tests use it to keep output readable).
 */
export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (Deno.env.get("LOG_LEVEL") === "silent") return;
    if (ORDER[level] < ORDER[currentLevel()]) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...fields });
    if (level === "error" || level === "warn") console.error(line);
    else console.log(line);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

/** The message of anything thrown, without a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
