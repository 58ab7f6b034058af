/** Label names to values of one sample. */
export type Labels = Record<string, string>;

/** One series of a histogram: cumulative bucket counts by upper bound, sum and count. */
export interface HistogramSeries {
  labels: Labels;
  /** Cumulative counts, one per bound given to {@linkcode MetricsWriter.histogram}. */
  buckets: number[];
  sum: number;
  count: number;
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  for (const [name] of entries) {
    if (!LABEL.test(name) || name.startsWith("__")) {
      throw new Error(`Cannot write label: received name '${name}'`);
    }
  }
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

/**
 * Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE
 * line per family, escaped label values, histograms with cumulative `_bucket`
 * series ending in `le="+Inf"`, `_sum` and `_count`.
 *
 * @example
 * ```ts
 * const writer = new MetricsWriter();
 * writer.gauge("monitoring_open_events", "Open events.", [{ labels: { severity: "HIGH" }, value: 2 }]);
 * writer.text(); // "# HELP monitoring_open_events Open events.\n# TYPE ..."
 * ```
 */
export class MetricsWriter {
  #lines: string[] = [];
  #names = new Set<string>();

  #family(name: string, type: string, help: string): void {
    if (!NAME.test(name)) throw new Error(`Cannot write metric: received name '${name}'`);
    if (this.#names.has(name)) throw new Error(`Cannot write metric '${name}' twice`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  /** A gauge family (a value that goes up and down). */
  gauge(name: string, help: string, samples: { labels?: Labels; value: number }[]): this {
    this.#family(name, "gauge", help);
    for (const s of samples) {
      this.#lines.push(`${name}${formatLabels(s.labels ?? {})} ${formatValue(s.value)}`);
    }
    return this;
  }

  /** A counter family; its name must end in `_total`. */
  counter(name: string, help: string, samples: { labels?: Labels; value: number }[]): this {
    if (!name.endsWith("_total")) throw new Error(`Cannot write counter '${name}': needs _total`);
    this.#family(name, "counter", help);
    for (const s of samples) {
      this.#lines.push(`${name}${formatLabels(s.labels ?? {})} ${formatValue(s.value)}`);
    }
    return this;
  }

  /** A histogram family over the upper `bounds` (ascending, without +Inf). */
  histogram(name: string, help: string, bounds: number[], series: HistogramSeries[]): this {
    this.#family(name, "histogram", help);
    for (const s of series) {
      if (s.buckets.length !== bounds.length) {
        throw new Error(
          `Cannot write histogram '${name}': ${s.buckets.length} buckets for ${bounds.length} bounds`,
        );
      }
      bounds.forEach((bound, i) => {
        const labels = formatLabels({ ...s.labels, le: formatValue(bound) });
        this.#lines.push(`${name}_bucket${labels} ${formatValue(s.buckets[i])}`);
      });
      this.#lines.push(
        `${name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${formatValue(s.count)}`,
        `${name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`,
        `${name}_count${formatLabels(s.labels)} ${formatValue(s.count)}`,
      );
    }
    return this;
  }

  /** The exposition, newline-terminated. */
  text(): string {
    return this.#lines.length ? `${this.#lines.join("\n")}\n` : "";
  }
}
