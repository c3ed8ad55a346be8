/**
 * The one writer of wg-quick(8) configuration files ({@link formatWgQuick}, {@link wgQuickTemplate}:
 * `[Interface]`/`[Peer]` sections of `Key = value` lines, the format config.ts parses), used by
 * `wg showconf` here and by wg-deploy's gateway and mesh configs; and human output from a UAPI
 * `get=1` answer: `wg showconf` (an INI file wg setconf accepts) and `wg show` (the interface/peer
 * summary), formatted like wireguard-tools.
 */
import { publicKey as derivePublic, toBase64 } from "./keys.js";
import type { GetAnswer } from "./uapi-protocol.js";

/**
 * The value of a `Key = value` line: text, a number, a boolean (written `true`/`false`), or text
 * with holes `H` that the caller fills in later (wg-deploy's placeholders for keys and addresses).
 */
export type WgQuickValue<H = never> = string | number | boolean | readonly (string | H)[];

/** One line of a section: `Key = value` (left out when the value is undefined: an unset key), or `# comment`. */
export type WgQuickLine<H = never> = { readonly key: string; readonly value: WgQuickValue<H> | undefined } | { readonly comment: string };

/** An `[Interface]` or `[Peer]` section; `comments` stand above its header line. */
export interface WgQuickSection<H = never> {
  readonly header: "Interface" | "Peer";
  readonly comments?: readonly string[];
  readonly lines: readonly WgQuickLine<H>[];
}

/**
 * A wg-quick configuration as text with holes: the sections in order, separated by one blank line,
 * every line ending in "\n". Values are written as given (callers validate them: no line breaks).
 */
export function wgQuickTemplate<H>(sections: readonly WgQuickSection<H>[]): (string | H)[] {
  const out: (string | H)[] = [];
  sections.forEach((section, index) => {
    if (index > 0) out.push("\n");
    for (const comment of section.comments ?? []) out.push(`# ${comment}\n`);
    out.push(`[${section.header}]\n`);
    for (const line of section.lines) {
      if ("comment" in line) out.push(`# ${line.comment}\n`);
      else if (typeof line.value === "object") out.push(`${line.key} = `, ...line.value, "\n");
      else if (line.value !== undefined) out.push(`${line.key} = ${String(line.value)}\n`);
    }
  });
  return out;
}

/** A wg-quick configuration file's text (see {@link wgQuickTemplate}). */
export function formatWgQuick(sections: readonly WgQuickSection[]): string {
  return wgQuickTemplate(sections).join("");
}

function b64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

function zeroHex(hex: string): boolean {
  return /^0+$/.test(hex);
}

function first(m: Map<string, string[]>, k: string): string | undefined {
  return m.get(k)?.[0];
}

/** A UAPI number as wg prints it: left out when absent or 0. */
function nonZero(value: string | undefined): string | undefined {
  return value && value !== "0" ? value : undefined;
}

/** `wg showconf IFACE` output. Contains the private key: it is the point of the command. */
export function formatShowconf(get: GetAnswer): string {
  const mark = nonZero(get.device.get("fwmark"));
  const pk = get.device.get("private_key");
  const sections: WgQuickSection[] = [
    {
      header: "Interface",
      lines: [
        { key: "ListenPort", value: nonZero(get.device.get("listen_port")) },
        { key: "FwMark", value: mark && `0x${Number(mark).toString(16)}` },
        { key: "PrivateKey", value: pk ? b64(pk) : undefined },
      ],
    },
  ];
  for (const p of get.peers) {
    const psk = first(p, "preshared_key");
    const ips = p.get("allowed_ip") ?? [];
    sections.push({
      header: "Peer",
      lines: [
        { key: "PublicKey", value: b64(first(p, "public_key")!) },
        { key: "PresharedKey", value: psk && !zeroHex(psk) ? b64(psk) : undefined },
        { key: "AllowedIPs", value: ips.length ? ips.join(", ") : undefined },
        { key: "Endpoint", value: first(p, "endpoint") || undefined },
        { key: "PersistentKeepalive", value: nonZero(first(p, "persistent_keepalive_interval")) },
      ],
    });
  }
  return formatWgQuick(sections);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function ago(seconds: number): string {
  const parts: string[] = [];
  const units: [number, string][] = [
    [365 * 86400, "year"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  let left = Math.max(0, Math.floor(seconds));
  for (const [size, name] of units) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n) parts.push(plural(n, name));
  }
  return parts.length ? `${parts.join(", ")} ago` : "Now";
}

function bytes(n: number): string {
  const units: [number, string][] = [
    [1024 ** 4, "TiB"],
    [1024 ** 3, "GiB"],
    [1024 ** 2, "MiB"],
    [1024, "KiB"],
  ];
  for (const [size, name] of units) if (n >= size) return `${(n / size).toFixed(2)} ${name}`;
  return `${n} B`;
}

/** `wg show IFACE` output (without colours). Never prints the private key. */
export function formatShow(name: string, get: GetAnswer, nowEpochMs: number): string {
  const out = [`interface: ${name}`];
  const pk = get.device.get("private_key");
  if (pk) {
    const priv = new Uint8Array(Buffer.from(pk, "hex"));
    out.push(`  public key: ${toBase64(derivePublic(priv))}`);
    priv.fill(0);
    out.push("  private key: (hidden)");
  }
  const port = get.device.get("listen_port");
  if (port && port !== "0") out.push(`  listening port: ${port}`);
  const mark = get.device.get("fwmark");
  if (mark && mark !== "0") out.push(`  fwmark: 0x${Number(mark).toString(16)}`);
  for (const p of get.peers) {
    out.push("", `peer: ${b64(first(p, "public_key")!)}`);
    const psk = first(p, "preshared_key");
    if (psk && !zeroHex(psk)) out.push("  preshared key: (hidden)");
    const ep = first(p, "endpoint");
    if (ep) out.push(`  endpoint: ${ep}`);
    const ips = p.get("allowed_ip") ?? [];
    out.push(`  allowed ips: ${ips.length ? ips.join(", ") : "(none)"}`);
    const sec = Number(first(p, "last_handshake_time_sec") ?? 0);
    if (sec) out.push(`  latest handshake: ${ago(nowEpochMs / 1000 - sec)}`);
    const rx = Number(first(p, "rx_bytes") ?? 0);
    const tx = Number(first(p, "tx_bytes") ?? 0);
    if (rx || tx) out.push(`  transfer: ${bytes(rx)} received, ${bytes(tx)} sent`);
    const ka = Number(first(p, "persistent_keepalive_interval") ?? 0);
    if (ka) out.push(`  persistent keepalive: every ${plural(ka, "second")}`);
  }
  return out.join("\n") + "\n";
}
