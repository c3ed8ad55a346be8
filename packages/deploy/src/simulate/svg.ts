/**
 * The timeline of a simulation as an SVG document: one row per link; a green bar while the session is
 * up (both sides can send), red while it is down; a tick for every completed handshake (blue), an
 * orange mark for every gap in which a host could not reach the other, and a dashed line with a label
 * for every scenario event. Time runs left to right over the whole run. Deterministic text (no
 * dates, fixed number formatting), so the same report gives the same bytes.
 */
import { describeEvent, type SimulationReport } from "./report.js";

const ROW = 22;
const WIDTH = 1200;
const TOP = 60;
const BOTTOM = 36;
/** Rough width of one character of the 12 px font (labels are laid out without measuring text). */
const CHAR = 7;

/** `maxLinks`: rows drawn at most (when cut: the links that lost sessions, then the longest gaps). */
export function timelineSvg(r: SimulationReport, maxLinks = 60): string {
  const links = r.links.length <= maxLinks ? r.links : [...r.links]
          .sort((a, b) => b.sessionLosses - a.sessionLosses || b.total.longestGap - a.total.longestGap || a.name.localeCompare(b.name))
          .slice(0, maxLinks)
          .sort((a, b) => r.links.indexOf(a) - r.links.indexOf(b));
  const names = links.map((l) => l.name.replace("~", " ↔ "));
  const labelWidth = Math.min(420, 16 + CHAR * Math.max(10, ...names.map((n) => n.length)));
  const plot = WIDTH - labelWidth - 20;
  const x = (t: number): string => (labelWidth + (t / r.duration) * plot).toFixed(1);
  const height = TOP + links.length * ROW + BOTTOM + r.events.length * 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(`wg-deploy simulate ${r.topology} — seed ${r.seed}, ${hours(r.duration)} virtual`)}</text>`,
    `<text x="10" y="38" fill="#444">${esc(`loss ${pct(r.conditions.loss)}, latency ${r.conditions.latency} ms ± ${r.conditions.jitter} ms${r.links.length > links.length ? `; ${links.length} of ${r.links.length} links (lost sessions, then longest gaps)` : ""}`)}</text>`,
    legend(WIDTH - 520, 20),
  ];
  // Hour grid.
  const step = gridStep(r.duration);
  for (let t = 0; t <= r.duration; t += step) {
    out.push(`<line x1="${x(t)}" y1="${TOP - 6}" x2="${x(t)}" y2="${TOP + links.length * ROW}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x(t)}" y="${TOP + links.length * ROW + 16}" text-anchor="middle" fill="#666">${label(t)}</text>`);
  }
  links.forEach((l, i) => {
    const y = TOP + i * ROW;
    out.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(names[i]!)}</text>`);
    out.push(`<rect x="${labelWidth}" y="${y + 3}" width="${plot}" height="11" fill="#f2b8b5"/>`); // down unless drawn up
    for (const [up, down] of l.sessions) {
      out.push(`<rect x="${x(up)}" y="${y + 3}" width="${Math.max(0.5, ((down - up) / r.duration) * plot).toFixed(1)}" height="11" fill="#7cc47f"/>`);
    }
    if (l.handshakes.length > 0) {
      out.push(`<path d="${l.handshakes.map((t) => `M${x(t)} ${y + 2}v18`).join("")}" stroke="#1f5fbf" stroke-width="1" stroke-opacity="${l.handshakes.length > plot / 2 ? 0.35 : 0.9}"/>`);
    }
  });
  // Gaps in which a host could not reach the other.
  links.forEach((l, i) => {
    const y = TOP + i * ROW;
    for (const [start, length] of l.gaps) {
      out.push(`<rect x="${x(start)}" y="${y + 15}" width="${Math.max(2, (length / r.duration) * plot).toFixed(1)}" height="5" fill="#f08c00"><title>${esc(`no reach for ${(length / 1000).toFixed(1)} s`)}</title></rect>`);
    }
  });
  // Events: a numbered dashed line each, explained under the chart.
  const below = TOP + links.length * ROW + BOTTOM;
  r.events.forEach((e, k) => {
    out.push(`<line x1="${x(e.at)}" y1="${TOP - 14}" x2="${x(e.at)}" y2="${TOP + links.length * ROW}" stroke="#7b2cbf" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x(e.at)}" y="${TOP - 16}" text-anchor="middle" fill="#7b2cbf" font-weight="bold">${k + 1}</text>`);
    out.push(`<text x="10" y="${below + k * 16}" fill="#7b2cbf">${esc(`${k + 1}  +${label(e.at)}  ${describeEvent(e)}`)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function legend(x0: number, y: number): string {
  const items: [string, string][] = [
    ["#7cc47f", "session up"],
    ["#f2b8b5", "down"],
    ["#1f5fbf", "handshake"],
    ["#f08c00", "gap (no reach)"],
    ["#7b2cbf", "event"],
  ];
  let x = x0;
  return items
    .map(([color, text]) => {
      const s = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${x + 16}" y="${y}">${text}</text>`;
      x += 24 + text.length * 7;
      return s;
    })
    .join("");
}

function gridStep(duration: number): number {
  for (const s of [60_000, 300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000, 43_200_000]) if (duration / s <= 12) return s;
  return 86_400_000;
}

function label(t: number): string {
  const m = Math.round(t / 60_000);
  return m % 60 === 0 ? `${m / 60}h` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}`;
}

const hours = (ms: number): string => (ms >= 3_600_000 ? `${+(ms / 3_600_000).toFixed(2)} h` : `${+(ms / 60_000).toFixed(1)} min`);
const pct = (p: number): string => `${+(p * 100).toFixed(3)} %`;
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
