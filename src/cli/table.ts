/** One column of a table: its header and how to read a row's cell. */
export interface Column<T> {
  header: string;
  value(row: T): unknown;
  /** Longest cell before it is cut with an ellipsis (default 60). */
  max?: number;
  align?: "left" | "right";
}

function cell(value: unknown, max: number): string {
  const text = value === null || value === undefined
    ? "-"
    : value instanceof Date
    ? value.toISOString()
    : typeof value === "object"
    ? JSON.stringify(value)
    : String(value);
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Renders rows as a plain-text table with a header and aligned columns, for a
 * terminal: no colours and no box characters, so it pipes into grep and less.
 *
 * @example
 * ```ts
 * renderTable([{ id: 1, title: "x" }], [
 *   { header: "ID", value: (r) => r.id, align: "right" },
 *   { header: "TITLE", value: (r) => r.title },
 * ]);
 * ```
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => cell(column.value(row), column.max ?? 60))
  );
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i].length))
  );
  const line = (values: string[]) =>
    values.map((value, i) =>
      columns[i].align === "right" ? value.padStart(widths[i]) : value.padEnd(widths[i])
    ).join("  ").trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join("\n");
}

/** "3m ago", "2h ago", "5d ago": how long ago an ISO timestamp was, for humans. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds}s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}
