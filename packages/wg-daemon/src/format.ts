/**
 * Human output from a UAPI `get=1` answer: `wg showconf` (an INI file wg setconf accepts) and
 * `wg show` (the interface/peer summary), formatted like wireguard-tools.
 */
import { publicKey as derivePublic, toBase64 } from "./keys.js";
import type { GetAnswer } from "./uapi-protocol.js";

function b64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

function zeroHex(hex: string): boolean {
  return /^0+$/.test(hex);
}

function first(m: Map<string, string[]>, k: string): string | undefined {
  return m.get(k)?.[0];
}

/** `wg showconf IFACE` output. Contains the private key: it is the point of the command. */
export function formatShowconf(get: GetAnswer): string {
  const out = ["[Interface]"];
  const port = get.device.get("listen_port");
  if (port && port !== "0") out.push(`ListenPort = ${port}`);
  const mark = get.device.get("fwmark");
  if (mark && mark !== "0") out.push(`FwMark = 0x${Number(mark).toString(16)}`);
  const pk = get.device.get("private_key");
  if (pk) out.push(`PrivateKey = ${b64(pk)}`);
  for (const p of get.peers) {
    out.push("", "[Peer]", `PublicKey = ${b64(first(p, "public_key")!)}`);
    const psk = first(p, "preshared_key");
    if (psk && !zeroHex(psk)) out.push(`PresharedKey = ${b64(psk)}`);
    const ips = p.get("allowed_ip") ?? [];
    if (ips.length) out.push(`AllowedIPs = ${ips.join(", ")}`);
    const ep = first(p, "endpoint");
    if (ep) out.push(`Endpoint = ${ep}`);
    const ka = first(p, "persistent_keepalive_interval");
    if (ka && ka !== "0") out.push(`PersistentKeepalive = ${ka}`);
  }
  return out.join("\n") + "\n";
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
