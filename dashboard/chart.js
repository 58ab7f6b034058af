const NS = "http://www.w3.org/2000/svg";

function el(name, attributes = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Draws the last 24 hours from health snapshots as an inline SVG: monitoring
 * events per hour as bars (right axis) and the success rate as a line (left
 * axis, 0-100 %). Snapshots arrive newest first.
 * @param {HTMLElement} container
 * @param {{snapshot_timestamp: string, success_rate_percent: number | null, monitoring_events_last_hour: number}[]} snapshots
 * @param {number} [now]
 */
export function drawChart(container, snapshots, now = Date.now()) {
  const width = 640, height = 180, left = 36, right = 36, top = 10, bottom = 22;
  const plotW = width - left - right, plotH = height - top - bottom;
  const start = now - 24 * 3600_000;
  const x = (t) => left + ((t - start) / (now - start)) * plotW;
  const points = snapshots
    .map((s) => ({
      t: Date.parse(s.snapshot_timestamp),
      rate: s.success_rate_percent,
      events: s.monitoring_events_last_hour,
    }))
    .filter((p) => p.t >= start)
    .sort((a, b) => a.t - b.t);
  const maxEvents = Math.max(1, ...points.map((p) => p.events));

  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-label": "Success rate and events over the last 24 hours",
  });
  svg.append(
    el("rect", {
      x: left,
      y: top,
      width: plotW,
      height: plotH,
      fill: "#fafbfc",
      stroke: "#e3e6ea",
    }),
  );
  for (const pct of [0, 50, 100]) {
    const y = top + plotH - (pct / 100) * plotH;
    svg.append(el("line", { x1: left, x2: left + plotW, y1: y, y2: y, stroke: "#e3e6ea" }));
    svg.append(el("text", { x: 2, y: y + 3 }, `${pct}%`));
  }
  svg.append(el("text", { x: left + plotW + 4, y: top + 8 }, String(maxEvents)));
  for (let h = 0; h <= 24; h += 6) {
    const t = start + h * 3600_000;
    const label = new Date(t).toISOString().slice(11, 16);
    svg.append(el("text", { x: x(t) - 12, y: height - 6 }, label));
  }
  const barW = Math.max(2, plotW / 96);
  for (const p of points) {
    const h = (p.events / maxEvents) * plotH;
    svg.append(
      el("rect", {
        class: "bar",
        x: x(p.t) - barW / 2,
        y: top + plotH - h,
        width: barW,
        height: h,
        fill: "#90caf9",
      }),
    );
  }
  const line = points.filter((p) => p.rate !== null)
    .map((p, i) =>
      `${i ? "L" : "M"}${x(p.t).toFixed(1)},${(top + plotH - (p.rate / 100) * plotH).toFixed(1)}`
    )
    .join(" ");
  if (line) {
    svg.append(
      el("path", { class: "rate", d: line, fill: "none", stroke: "#2e7d32", "stroke-width": 2 }),
    );
  }
  if (points.length === 0) {
    svg.append(
      el("text", { x: left + plotW / 2 - 60, y: top + plotH / 2 }, "no snapshots in 24 h"),
    );
  }
  container.replaceChildren(svg);
}
