/**
 * What the lab needs on this machine before it builds anything: root, /dev/net/tun, and the
 * commands each node plan's packages provide (plus the tunnel implementation's own requirements,
 * PostgreSQL's server binaries and OS user, dhclient for hosts served by DHCP). Every missing piece
 * is reported at once, with the package that provides it and the host that needs it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LabContext } from "./context.js";
import { postgresBinDir } from "./postgres.js";
import { findExecutable, succeeds } from "./shell.js";

/** Debian package -> the commands the lab needs from it. */
const PACKAGE_COMMANDS: Readonly<Record<string, readonly string[]>> = {
  "wireguard-tools": ["wg"],
  nftables: ["nft"],
  iproute2: ["ip"],
  "iputils-ping": ["ping"],
  "postgresql-client": ["psql"],
  postgresql: ["runuser"],
  "dnsmasq-base": ["dnsmasq"],
};

export async function checkPrerequisites(lab: LabContext): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, nftables, TUN)");
  const missing: string[] = [];
  const need = (command: string, provider: string, hosts: string) => {
    if (!findExecutable(command)) missing.push(`\`${command}\` (${provider}) needed on ${hosts}`);
  };
  need("ip", "iproute2", "every host");
  need("sysctl", "procps", "every host");
  for (const plan of lab.plans.values()) {
    for (const pkg of plan.packages) for (const command of PACKAGE_COMMANDS[pkg] ?? []) need(command, pkg, plan.node);
    if (plan.interfaces.some((i) => i.dhcp !== undefined)) need("dhclient", "isc-dhcp-client", `${plan.node} (DHCP client in the lab)`);
    for (const r of plan.wireguard ? lab.implementationFor(plan.node).requires : []) {
      const hosts = `${plan.node} (WireGuard by ${lab.implementationFor(plan.node).name})`;
      if (r.file) {
        if (!existsSync(r.command)) missing.push(`${r.command} (${r.provider}) needed on ${hosts}`);
      } else need(r.command, r.provider, hosts);
    }
    if (plan.services.some((s) => s.kind === "postgresql")) {
      const bin = postgresBinDir(lab.settings.io.env);
      if (bin === undefined) missing.push(`PostgreSQL server binaries (postgresql; or set WG_DEPLOY_PG_BIN) needed on ${plan.node}`);
      else for (const tool of ["initdb", "pg_ctl", "postgres", "pg_isready"]) need(join(bin, tool), "postgresql", plan.node);
      if (!(await succeeds(["id", "-u", "postgres"]))) missing.push(`OS user \`postgres\` (postgresql) needed on ${plan.node}`);
    }
  }
  if (!existsSync("/dev/net/tun")) missing.push("/dev/net/tun (TUN devices) needed by the gateways");
  if (missing.length > 0) throw new Error(`missing prerequisites:\n  - ${[...new Set(missing)].join("\n  - ")}`);
}
