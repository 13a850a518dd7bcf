/**
 * A latency-against-load chart as a self-contained SVG (no plotting dependency): one line
 * per server through its points (throughput, latency), p99 solid and p50 dashed, on log
 * axes, since a bare Node echo and a policy server differ by orders of magnitude.
 */

export interface Series {
  name: string;
  /** In order of increasing load: x in requests/s, y in ms. */
  points: Array<{ x: number; p50: number; p99: number; label: string }>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const W = 760;
const H = 460;
const M = { left: 70, right: 210, top: 40, bottom: 55 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The decades that cover [min, max]. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

function tickLabel(v: number): string {
  return v >= 1000 ? `${v / 1000}k` : String(v);
}

export function latencyPlot(title: string, series: Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.p50, p.p99]));
  const xTicks = decades(Math.min(...xs), Math.max(...xs));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [Math.log10(xTicks[0]!), Math.log10(xTicks.at(-1)!)];
  const [y0, y1] = [Math.log10(yTicks[0]!), Math.log10(yTicks.at(-1)!)];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number) => M.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (y: number) => M.top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const t of xTicks) {
    out.push(`<line x1="${px(t)}" y1="${M.top}" x2="${px(t)}" y2="${M.top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${px(t)}" y="${M.top + plotH + 18}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" y1="${py(t)}" x2="${M.left + plotW}" y2="${py(t)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${py(t) + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">throughput, requests/s (log)</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency, ms (log): p99 solid, p50 dashed</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    for (const [key, dash] of [
      ['p99', ''],
      ['p50', ' stroke-dasharray="5 4"'],
    ] as const) {
      const path = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p[key]).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    }
    for (const p of s.points) {
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.p99).toFixed(1)}" r="3" fill="${colour}"><title>${escape(`${s.name}, ${p.label}: ${p.x.toFixed(0)} req/s, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 20;
    out.push(
      `<line x1="${W - M.right + 15}" y1="${ly}" x2="${W - M.right + 40}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - M.right + 46}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
