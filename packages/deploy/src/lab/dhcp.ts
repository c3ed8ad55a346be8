/**
 * DHCP in the lab, with the real programs: the gateway's dnsmasq (its plan's configuration file)
 * serves the host's private network, and the host's ISC `dhclient` gets its address and its routes
 * from option 121 (RFC 3442 classless static routes) — no route of such a host is installed by the lab.
 *
 * dhclient runs with the lab's own files (`-cf`, `-lf`, `-pf`, `-sf` under the node's directory), so
 * it never reads or writes the machine's /etc/dhcp, /var/lib/dhcp or /etc/resolv.conf. The script is
 * the part of Debian's dhclient-script (plus its rfc3442-classless-routes hook) that the lab needs:
 * address, then the classless routes (or, without option 121, the router of option 3).
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RoutePlan } from "../plan/types.js";
import { writeFileAtomic } from "./state.js";
import { run, runIn, spawnDetached } from "./shell.js";

/** The DHCP client script dhclient runs on every lease event (`-sf`). */
export const DHCLIENT_SCRIPT = [
  "#!/bin/sh",
  "# wg-deploy lab dhclient script: applies a lease's address and its option 121 routes (RFC 3442).",
  'case "$reason" in',
  "BOUND|RENEW|REBIND|REBOOT)",
  '  ip -4 addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"',
  '  if [ -n "$new_rfc3442_classless_static_routes" ]; then',
  "    # <prefix length> <significant octets of the destination> <router, 4 octets>, repeated",
  "    set -- $new_rfc3442_classless_static_routes",
  '    while [ "$#" -ge 5 ]; do',
  "      len=$1; shift",
  "      octets=$(( (len + 7) / 8 )); dst=''; i=0",
  '      while [ "$i" -lt 4 ]; do',
  '        if [ "$i" -lt "$octets" ]; then part=$1; shift; else part=0; fi',
  '        if [ -z "$dst" ]; then dst=$part; else dst="$dst.$part"; fi',
  "        i=$((i + 1))",
  "      done",
  '      router="$1.$2.$3.$4"; shift 4',
  '      if [ "$len" -eq 0 ]; then dst=default; else dst="$dst/$len"; fi',
  '      ip -4 route replace "$dst" via "$router" dev "$interface"',
  "    done",
  '  elif [ -n "$new_routers" ]; then',
  '    ip -4 route replace default via "${new_routers%% *}" dev "$interface"',
  "  fi",
  "  ;;",
  "EXPIRE|FAIL|RELEASE|STOP)",
  '  ip -4 addr flush dev "$interface"',
  "  ;;",
  "esac",
  "exit 0",
  "",
].join("\n");

/** dhclient.conf: ask for option 121, send the hostname the gateway's dnsmasq reserves an address for. */
export function dhclientConfig(hostname: string): string {
  return [
    "# wg-deploy lab: the host's DHCP client",
    "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;",
    `send host-name "${hostname}";`,
    "request subnet-mask, routers, rfc3442-classless-static-routes;",
    "timeout 20;",
    "retry 5;",
    "",
  ].join("\n");
}

/** Starts the gateway's dnsmasq in its namespace with the plan's configuration (lab path). */
export async function startDnsmasq(namespace: string, configPath: string, pidFile: string, waitForAddress: string): Promise<void> {
  // As in the cloud unit: root opens the lease and log files, then dnsmasq drops to its default user.
  spawnDetached(["ip", "netns", "exec", namespace, "dnsmasq", `--conf-file=${configPath}`, `--pid-file=${pidFile}`, "--keep-in-foreground"]);
  const deadline = Date.now() + 5000;
  for (;;) {
    const { stdout } = await runIn(namespace, ["ss", "-Hlunp", "sport", "= :67"]);
    if (stdout.includes("dnsmasq")) return;
    if (Date.now() > deadline) throw new Error(`dnsmasq does not listen on ${waitForAddress} port 67 (config ${configPath})`);
    await sleep(100);
  }
}

/** Files of a host's DHCP client, under its node directory. */
export function dhclientFiles(nodeDirectory: string, device: string) {
  return {
    config: join(nodeDirectory, `dhclient-${device}.conf`),
    script: join(nodeDirectory, "dhclient-script"),
    leases: join(nodeDirectory, `dhclient-${device}.leases`),
    pid: join(nodeDirectory, `dhclient-${device}.pid`),
  };
}

/**
 * Runs dhclient on `device` of `namespace` until it has a lease (then it stays, renewing), and checks
 * that the lease gave the planned address and every planned route.
 */
export async function acquireLease(
  namespace: string,
  device: string,
  hostname: string,
  nodeDirectory: string,
  expected: { readonly address: string; readonly routes: readonly RoutePlan[] },
): Promise<void> {
  const files = dhclientFiles(nodeDirectory, device);
  writeFileAtomic(files.config, dhclientConfig(hostname), 0o644);
  writeFileAtomic(files.script, DHCLIENT_SCRIPT, 0o755);
  await runIn(namespace, ["dhclient", "-1", "-4", "-cf", files.config, "-lf", files.leases, "-pf", files.pid, "-sf", files.script, device], { timeoutMs: 60_000 });
  const { stdout: addresses } = await run(["ip", "-n", namespace, "-4", "-o", "addr", "show", "dev", device]);
  if (!addresses.includes(` ${expected.address} `)) throw new Error(`dhclient on ${device}: expected ${expected.address}, got: ${addresses.trim() || "no address"}`);
  const { stdout: routes } = await run(["ip", "-n", namespace, "-4", "route", "show", "dev", device]);
  for (const route of expected.routes) {
    if (typeof route.to !== "string" || route.via.kind !== "address") continue;
    const line = `${route.to} via ${route.via.address} `;
    if (!`${routes}\n`.split("\n").some((l) => `${l} `.startsWith(line))) throw new Error(`dhclient on ${device}: no route "${line.trim()}" from option 121 (routes: ${routes.trim()})`);
  }
}
