import { z } from "zod";

/** One parsed matcher: `label=value`, `label!=value`, `label=~regex`, `label!~regex`. */
export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  regex?: RegExp;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/**
 * Parses an Alertmanager-style matcher string. Values may be double-quoted;
 * regexes are anchored at both ends, as Alertmanager anchors them.
 *
 * @throws {Error} "Cannot parse matcher: received 'x'" for anything else.
 */
export function parseMatcher(text: string): Matcher {
  const found = MATCHER.exec(text);
  if (!found) throw new Error(`Cannot parse matcher: received '${text}'`);
  const [, label, op, raw] = found;
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')
    ? raw.slice(1, -1)
    : raw;
  const matcher: Matcher = { label, op: op as Matcher["op"], value };
  if (op === "=~" || op === "!~") {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch {
      throw new Error(`Cannot parse matcher regex: received '${value}'`);
    }
  }
  return matcher;
}

/** A matcher string, validated at config or API time so bad rows fall back to defaults. */
export const matcherSchema = z.string().min(1).superRefine((text, ctx) => {
  try {
    parseMatcher(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

const cache = new Map<string, Matcher>();

function compiled(text: string): Matcher {
  let matcher = cache.get(text);
  if (!matcher) {
    matcher = parseMatcher(text);
    if (cache.size > 1000) cache.clear();
    cache.set(text, matcher);
  }
  return matcher;
}

/** Whether one matcher accepts `labels`; a missing label reads as "". */
export function matches(text: string, labels: Readonly<Record<string, string | undefined>>) {
  const matcher = compiled(text);
  const actual = labels[matcher.label] ?? "";
  switch (matcher.op) {
    case "=":
      return actual === matcher.value;
    case "!=":
      return actual !== matcher.value;
    case "=~":
      return matcher.regex!.test(actual);
    case "!~":
      return !matcher.regex!.test(actual);
  }
}

/** Whether every matcher accepts `labels` (an empty list accepts everything). */
export function matchesAll(
  matchers: readonly string[],
  labels: Readonly<Record<string, string | undefined>>,
): boolean {
  return matchers.every((text) => matches(text, labels));
}
