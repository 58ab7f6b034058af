/** A column of {@linkcode formatTable}: its header and whether numbers align right. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

/**
 * Lays rows out in aligned columns under a header and a rule, for terminal reports.
 *
 * @example
 * ```ts
 * formatTable([{ header: "tier" }, { header: "ms", align: "right" }], [["critical", 41]]);
 * // "  tier      ms\n  --------  --\n  critical  41"
 * ```
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly unknown[])[],
  indent = "  ",
): string {
  const cells = rows.map((row) => columns.map((_, i) => String(row[i] ?? "")));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((row) => row[i].length))
  );
  const line = (values: readonly string[]) =>
    indent +
    values.map((value, i) =>
      columns[i].align === "right" ? value.padStart(widths[i]) : value.padEnd(widths[i])
    ).join("  ").trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => "-".repeat(width))),
    ...cells.map(line),
  ].join("\n");
}

/** A section heading for a terminal report. */
export function heading(title: string): string {
  return `\n${title}\n${"=".repeat(title.length)}`;
}
