/**
 * Presentation of a benchmark run: a plain-text table for the terminal and a self-contained SVG
 * bar chart (no dependency) a person can open in a browser.
 */
import { hopsText } from "./hops.js";
import type { MacroResult, PairSummary } from "./index.js";

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : "—");

/** Renders rows as an aligned text table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(header), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

export function macroTable(m: MacroResult): string {
  const rows = m.summary.map((s: PairSummary) => [
    s.pair,
    String(s.rounds),
    f(s.tcpMbps),
    Number.isFinite(s.tcpVsBaseline) ? `${f(s.tcpVsBaseline, 2)}×` : "—",
    f(s.tcpRevMbps),
    Number.isFinite(s.tcpRevVsBaseline) ? `${f(s.tcpRevVsBaseline, 2)}×` : "—",
    f(s.udpRecvMbps),
    f(s.udpLossPct, 2),
    f(s.pingAvgMs, 3),
    f(s.pingMedianMs, 3),
    f(s.ping2AvgMs, 3),
    f(s.pingWarmAvgMs, 3),
    hopsText(s.hopsUs),
    s.cpuSecPerGBSide.map((x) => f(x, 1)).join("/"),
    s.sysSecPerGBSide.map((x) => f(x, 1)).join("/"),
    s.idleRssMiB.map((x) => f(x, 1)).join("/"),
    s.idleAnonMiB.map((x) => f(x)).join("/"),
    s.peakRssMiB.map((x) => f(x)).join("/"),
    s.afterRssMiB.map((x) => f(x, 1)).join("/"),
  ]);
  return table(
    ["pair (A↔B)", "ok", "TCP A→B Mbit/s", "vs wg-go", "TCP B→A Mbit/s", "vs wg-go", `UDP@${m.options.udpRate} Mbit/s`, "loss %", "ping 50ms ms", "p50", "ping 2ms ms", "50ms warm", "hops µs Atx/Brx/Bk/Btx/Arx", "CPU s/GB A/B", "of it system A/B", "idle RSS MiB A/B", "idle anon MiB A/B", "peak RSS MiB A/B", `RSS ${m.options.settleSeconds} s after MiB A/B`],
    rows,
  );
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const COLORS: Record<string, string> = {
  "wireguard-go↔wireguard-go": "#4c78a8",
  "wg-ts↔wg-ts": "#f58518",
  "wg-ts↔wireguard-go": "#e45756",
  "wg-ts-workers↔wg-ts-workers": "#9d755d",
};

export interface Panel {
  title: string;
  unit: string;
  bars: { label: string; value: number }[];
}

/** One SVG with a horizontal bar chart per metric. */
export function svgChart(title: string, panels: readonly Panel[]): string {
  const W = 760;
  const labelW = 210;
  const barH = 22;
  const gap = 6;
  let y = 40;
  const parts: string[] = [];
  for (const p of panels) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`);
    y += 10;
    const max = Math.max(1e-9, ...p.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    for (const b of p.bars) {
      const w = Number.isFinite(b.value) ? ((W - labelW - 90) * b.value) / max : 0;
      parts.push(
        `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.label] ?? "#888"}"/>`,
        `<text x="${(labelW + w + 5).toFixed(1)}" y="${y + 15}">${Number.isFinite(b.value) ? b.value.toPrecision(3) : "n/a"}</text>`,
      );
      y += barH + gap;
    }
    y += 24;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif" font-size="13">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n<text x="10" y="22" font-size="16" font-weight="bold">${esc(title)}</text>\n` +
    parts.join("\n") +
    "\n</svg>\n"
  );
}

export function macroPanels(m: MacroResult): Panel[] {
  const bars = (pick: (s: PairSummary) => number): { label: string; value: number }[] =>
    m.summary.map((s) => ({ label: s.pair, value: pick(s) }));
  return [
    { title: "iperf3 TCP throughput A→B, median", unit: "Mbit/s, higher is better", bars: bars((s) => s.tcpMbps) },
    { title: "iperf3 TCP throughput B→A, median", unit: "Mbit/s, higher is better", bars: bars((s) => s.tcpRevMbps) },
    { title: `iperf3 UDP at ${m.options.udpRate}: received`, unit: "Mbit/s", bars: bars((s) => s.udpRecvMbps) },
    { title: "ping RTT, a lone packet every 50 ms", unit: "ms, lower is better", bars: bars((s) => s.pingAvgMs) },
    { title: "ping RTT, a packet every 2 ms", unit: "ms, lower is better", bars: bars((s) => s.ping2AvgMs) },
    { title: "daemon CPU per GB moved (both sides)", unit: "CPU s/GB, lower is better", bars: bars((s) => s.cpuSecPerGB) },
    { title: "idle RSS of the daemon on side A (VmRSS)", unit: "MiB, lower is better", bars: bars((s) => s.idleRssMiB[0]) },
    { title: "idle private memory of side A (RssAnon)", unit: "MiB, lower is better", bars: bars((s) => s.idleAnonMiB[0]) },
    { title: `RSS of side A ${m.options.settleSeconds} s after the load (idle again)`, unit: "MiB, lower is better", bars: bars((s) => s.afterRssMiB[0]) },
  ];
}
