/**
 * Interface addresses, MTU, DNS and routes, as wg-quick(8)'s linux.bash sets them up and tears
 * them down (add_addr, set_mtu_up, set_dns, add_route, add_default, del_if).
 *
 * Default routes (`/0` in AllowedIPs with Table=auto) use policy routing so the tunnel does not
 * route into itself: the interface gets fwmark = table (51820 or the next free table), then
 * `ip rule add not fwmark T table T`, `ip rule add table main suppress_prefixlength 0`, the /0
 * route in table T, and nft rules that keep marked UDP replies on the right path (wg-quick's
 * `wg-quick-IFNAME` table). The daemon's UDP sockets carry SO_MARK = fwmark, so they bypass.
 */
import type { Runner } from "./run.js";

export const DEFAULT_TABLE = 51820;

function family(cidr: string): "-4" | "-6" {
  return cidr.includes(":") ? "-6" : "-4";
}

export async function addAddress(run: Runner, name: string, cidr: string): Promise<void> {
  await run("ip", [family(cidr), "address", "add", cidr, "dev", name]);
}

export async function setMtuUp(run: Runner, name: string, mtu: number): Promise<void> {
  await run("ip", ["link", "set", "mtu", String(mtu), "up", "dev", name]);
}

/** AllowedIPs sorted like wg-quick (`sort -nr -k 2 -t /`: longest prefix first), deduplicated. */
export function routeOrder(allowedIps: readonly string[]): string[] {
  const norm = [...new Set(allowedIps.map((a) => (a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`)))];
  return norm.sort((a, b) => Number(b.split("/")[1]) - Number(a.split("/")[1]));
}

export interface RouteState {
  /** table used for default routes (also the fwmark), when any */
  defaultTable?: number;
  families: Set<"-4" | "-6">;
}

async function tableInUse(run: Runner, table: number): Promise<boolean> {
  for (const fam of ["-4", "-6"]) {
    try {
      const r = await run("ip", [fam, "route", "show", "table", String(table)], { quiet: true });
      if (r.stdout.trim() !== "") return true;
    } catch {
      /* no such family: not in use */
    }
  }
  return false;
}

export interface RouteContext {
  run: Runner;
  name: string;
  /** Table= from the config (undefined = auto) */
  table: string | undefined;
  /** current fwmark of the interface (0 = off) */
  fwmark: number;
  /** sets the interface fwmark (through UAPI) */
  setFwmark: (mark: number) => Promise<void>;
  /** the interface addresses, for the nft anti-spoofing rules */
  addresses: readonly string[];
  log: (line: string) => void;
}

/** Adds one route per AllowedIP like wg-quick's add_route. Returns what del needs to know. */
export async function addRoutes(ctx: RouteContext, allowedIps: readonly string[]): Promise<RouteState> {
  const state: RouteState = { families: new Set() };
  const { run, name, table } = ctx;
  if (table === "off") return state;
  for (const cidr of routeOrder(allowedIps)) {
    const fam = family(cidr);
    if (table !== undefined && table !== "auto") {
      await run("ip", [fam, "route", "add", cidr, "dev", name, "table", table]);
    } else if (cidr.endsWith("/0")) {
      await addDefault(ctx, cidr, state);
    } else {
      const existing = await run("ip", [fam, "route", "show", "dev", name, "match", cidr], { quiet: true }).catch(() => ({
        stdout: "",
      }));
      if (existing.stdout.trim() === "") await run("ip", [fam, "route", "add", cidr, "dev", name]);
    }
  }
  return state;
}

async function addDefault(ctx: RouteContext, cidr: string, state: RouteState): Promise<void> {
  const { run, name } = ctx;
  let table = state.defaultTable ?? ctx.fwmark;
  if (!table) {
    table = DEFAULT_TABLE;
    while (await tableInUse(run, table)) table++;
    await ctx.setFwmark(table);
    ctx.log(`[#] wg set ${name} fwmark ${table}`);
  }
  state.defaultTable = table;
  const fam = family(cidr);
  state.families.add(fam);
  const pf = fam === "-6" ? "ip6" : "ip";
  // Rules left by a daemon that died without `down` (e.g. before a systemd restart) are reused,
  // not duplicated.
  const rules = (await run("ip", [fam, "rule", "show"], { quiet: true }).catch(() => ({ stdout: "" }))).stdout;
  const hex = `0x${table.toString(16)}`;
  if (!rules.includes(`not from all fwmark ${hex} lookup ${table}`)) {
    await run("ip", [fam, "rule", "add", "not", "fwmark", String(table), "table", String(table)]);
  }
  if (!rules.includes("from all lookup main suppress_prefixlength 0")) {
    await run("ip", [fam, "rule", "add", "table", "main", "suppress_prefixlength", "0"]);
  }
  await run("ip", [fam, "route", "add", cidr, "dev", name, "table", String(table)]);

  // wg-quick's nft rules: drop spoofed packets to our addresses from other interfaces, and
  // carry the fwmark on conntrack so replies to the tunnel's own UDP take the marked path.
  const nftable = `wg-quick-${name}`;
  const tables = await run("nft", ["list", "tables"], { quiet: true }).catch(() => ({ stdout: "" }));
  const stale = tables.stdout.split("\n").includes(`table ${pf} ${nftable}`);
  const lines = [
    ...(stale ? [`delete table ${pf} ${nftable}`] : []),
    `add table ${pf} ${nftable}`,
    `add chain ${pf} ${nftable} preraw { type filter hook prerouting priority -300; }`,
    `add chain ${pf} ${nftable} premangle { type filter hook prerouting priority -150; }`,
    `add chain ${pf} ${nftable} postmangle { type filter hook postrouting priority -150; }`,
  ];
  for (const a of ctx.addresses) {
    if (family(a) !== fam) continue;
    const addr = a.split("/")[0]!;
    lines.push(`add rule ${pf} ${nftable} preraw iifname != "${name}" ${pf} daddr ${addr} fib saddr type != local drop`);
  }
  lines.push(`add rule ${pf} ${nftable} postmangle meta l4proto udp mark ${table} ct mark set mark`);
  lines.push(`add rule ${pf} ${nftable} premangle meta l4proto udp meta mark set ct mark`);
  if (fam === "-4") await run("sysctl", ["-q", "net.ipv4.conf.all.src_valid_mark=1"]);
  try {
    await run("nft", ["-f", "-"], { input: lines.join("\n") + "\n" });
  } catch (e) {
    ctx.log(`Warning: nft rules for ${name} not installed: ${(e as Error).message}`);
  }
}

/** Removes the policy rules and nft table of add_default (wg-quick's del_if). */
export async function removeDefaultRouting(run: Runner, name: string, table: number): Promise<void> {
  for (const fam of ["-4", "-6"] as const) {
    for (let i = 0; i < 64; i++) {
      const rules = await run("ip", [fam, "rule", "show"], { quiet: true }).catch(() => ({ stdout: "" }));
      if (rules.stdout.includes(`lookup ${table}`)) {
        await run("ip", [fam, "rule", "delete", "table", String(table)]);
        continue;
      }
      if (rules.stdout.includes("from all lookup main suppress_prefixlength 0")) {
        await run("ip", [fam, "rule", "delete", "table", "main", "suppress_prefixlength", "0"]);
        continue;
      }
      break;
    }
    const pf = fam === "-6" ? "ip6" : "ip";
    const tables = await run("nft", ["list", "tables"], { quiet: true }).catch(() => ({ stdout: "" }));
    if (tables.stdout.split("\n").includes(`table ${pf} wg-quick-${name}`)) {
      await run("nft", ["delete", "table", pf, `wg-quick-${name}`]);
    }
  }
}

/** DNS through resolvconf, as wg-quick does; skipped with a warning when resolvconf is absent. */
export async function setDns(
  run: Runner,
  name: string,
  dns: readonly string[],
  search: readonly string[],
  log: (l: string) => void,
): Promise<boolean> {
  if (dns.length === 0 && search.length === 0) return false;
  const body = dns.map((d) => `nameserver ${d}`).concat(search.length ? [`search ${search.join(" ")}`] : []);
  try {
    await run("resolvconf", ["-a", `tun.${name}`, "-m", "0", "-x"], { input: body.join("\n") + "\n" });
    return true;
  } catch (e) {
    log(`Warning: DNS not set (resolvconf: ${(e as Error).message})`);
    return false;
  }
}

export async function unsetDns(run: Runner, name: string): Promise<void> {
  await run("resolvconf", ["-d", `tun.${name}`, "-f"]).catch(() => undefined);
}

export async function linkExists(run: Runner, name: string): Promise<boolean> {
  try {
    await run("ip", ["link", "show", "dev", name], { quiet: true });
    return true;
  } catch {
    return false;
  }
}
