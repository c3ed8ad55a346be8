/**
 * The shell every cloud's first boot shares (rendered into cloud-init by ./cloud-init.ts), written so
 * that nothing late or missing at boot leaves a gateway half-configured:
 *
 * - `wg-ts-network` applies the firewall, then the sysctls (forwarding only once the firewall is
 *   loaded), then the uplink's policy routing, THEN waits for the private NICs: a NIC that appears
 *   late delays only its own address and routes; one still missing after {@link NIC_WAIT_SECONDS}
 *   makes the script exit 1 after doing everything else, and its unit (`Restart=on-failure`, no
 *   start limit) runs the idempotent script again {@link NETWORK_RETRY_SECONDS} later.
 * - `wg-ts-packages` installs the node plan's Debian packages with retries, the WireGuard and
 *   firewall tools first and alone, the others each on their own at the end of the boot.
 * - `wg-ts-node` installs the Node.js runtime wg-deploy shipped into the deployment's own object
 *   storage (./node-runtime.ts): retried, SHA-256 checked, no third-party repository at boot.
 */

/** Seconds one run of wg-ts-network waits for the private NICs (all of them, one deadline). */
export const NIC_WAIT_SECONDS = 60;

/** Seconds systemd waits before running a failed wg-ts-network again. */
export const NETWORK_RETRY_SECONDS = 10;

/** Routing table and rule priority of the uplink's own address (policy routing, see {@link UPLINK_POLICY_ROUTING}). */
export const UPLINK_TABLE = 51820;
export const UPLINK_RULE_PRIORITY = 100;

/** Packages a WireGuard gateway cannot work without: installed first, in their own apt run. */
export const ESSENTIAL_PACKAGES: ReadonlySet<string> = new Set(["wireguard-tools", "nftables", "iproute2", "curl", "ca-certificates"]);

/** Head of wg-ts-network: `set -u` (never -e), a failure flag and `fail`. */
export const NETWORK_PRELUDE = `set -u
status=0
# fail MESSAGE: logs, remembers the failure (exit status 1 at the end: systemd runs the script again).
fail() { echo "wg-ts-network: $*" >&2; status=1; }
`;

/** Firewall, then sysctls only if the firewall is loaded (no forwarding without the filter). */
export function firewallAndSysctls(nftables: string | undefined, sysctl: string | undefined): string {
  const lines: string[] = ["# Firewall first, then the sysctls (forwarding on only once the filter is in place)."];
  const applySysctls = sysctl !== undefined ? `sysctl -q -p ${sysctl} || fail "sysctls of ${sysctl} not applied"` : undefined;
  if (nftables !== undefined) {
    lines.push(`if nft -f ${nftables}; then`);
    if (applySysctls) lines.push(`  ${applySysctls}`);
    lines.push(`else`, `  fail "nftables ruleset ${nftables} not loaded; sysctls (forwarding) not applied"`, `fi`);
  } else if (applySysctls) {
    lines.push(applySysctls);
  }
  return lines.length > 1 ? `${lines.join("\n")}\n` : "";
}

/**
 * Source-based policy routing for a node with an uplink: whatever leaves FROM the uplink's own
 * address (replies to SSH on the public IP, WireGuard from its public address) goes back out of the
 * uplink, even when the tunnel carries the default route (a spoke's 0.0.0.0/1 + 128.0.0.0/1), so a
 * spoke's public address answers like the hub's. Traffic the tunnel carries is sourced from the
 * overlay address (or masqueraded) and keeps using the main table. Idempotent.
 */
export const UPLINK_POLICY_ROUTING = `# Replies from this node's own uplink address leave through the uplink, not the tunnel's default route.
uplink=$(ip -4 route show default table main | awk '{for (i = 1; i < NF; i++) { if ($i == "via") gw = $(i + 1); if ($i == "dev") dev = $(i + 1) } if (gw != "" && dev != "") { print gw, dev; exit } }')
if [ -n "$uplink" ]; then
  set -- $uplink
  uplink_address=$(ip -4 -o address show dev "$2" scope global | awk '{split($4, a, "/"); print a[1]; exit}')
  if [ -n "$uplink_address" ]; then
    # The uplink's own routes (its subnet, the default route, the metadata pin), copied as they are.
    ip route flush table ${UPLINK_TABLE} 2>/dev/null || :
    ip -4 route show table main dev "$2" > /run/wg-ts-uplink-routes
    while read -r route; do ip route replace $route dev "$2" table ${UPLINK_TABLE} || fail "route $route not copied to table ${UPLINK_TABLE}"; done < /run/wg-ts-uplink-routes
    while ip rule del priority ${UPLINK_RULE_PRIORITY} 2>/dev/null; do :; done
    ip rule add from "$uplink_address" lookup ${UPLINK_TABLE} priority ${UPLINK_RULE_PRIORITY} || fail "no policy rule for $uplink_address"
    echo "wg-ts-network: traffic from $uplink_address leaves through $2 via $1 (table ${UPLINK_TABLE})"
  else
    fail "uplink $2 has no address: no policy routing"
  fi
else
  echo "wg-ts-network: no default route on the uplink yet: no policy routing for its address"
fi
`;

/**
 * `attach KEY ADDRESS/PREFIX NETWORK`: waits (one deadline for all NICs) for the device the
 * platform's `find_nic KEY ADDRESS/PREFIX` prints (`DEVICE [how it was found]`), brings it up with
 * the plan's address. Never exits: a NIC still missing is a `fail`. `$private_nics` (set by the
 * renderer) is the number of private NICs the node has.
 */
export const NIC_ATTACH = `nic_deadline=$(( $(date +%s) + ${NIC_WAIT_SECONDS} ))
attach() {
  until found=$(find_nic "$1" "$2"); do
    if [ "$(date +%s)" -ge "$nic_deadline" ]; then fail "no NIC on private network $3 ($1) yet; retried in ${NETWORK_RETRY_SECONDS} s"; return 1; fi
    sleep 2
  done
  set -- "$@" $found
  if ip link set dev "$4" up && ip address replace "$2" dev "$4"; then
    echo "wg-ts-network: $3 -> $4 $2\${5:+ (found by $5)}"
  else
    fail "cannot address $4 with $2 ($3)"
  fi
}
`;

/** Unit lines that make wg-ts-network run again until it succeeds. */
export const NETWORK_UNIT_RESTART = { unit: ["StartLimitIntervalSec=0"], service: ["Restart=on-failure", `RestartSec=${NETWORK_RETRY_SECONDS}`] } as const;

/** The packages of a plan split into what must come first (alone) and the rest (each on its own). */
export function packageGroups(packages: readonly string[], runsWireGuard: boolean): { essential: string[]; other: string[] } {
  const unique = [...new Set(packages)];
  // A node without WireGuard (the client) has only the packages it exists for.
  if (!runsWireGuard) return { essential: unique, other: [] };
  return { essential: unique.filter((p) => ESSENTIAL_PACKAGES.has(p)), other: unique.filter((p) => !ESSENTIAL_PACKAGES.has(p)) };
}

/**
 * wg-ts-packages: `wg-ts-packages essential` installs the essential group in one apt run,
 * `wg-ts-packages other` the others one by one; each apt run is retried every 20 s for up to
 * 30 minutes (a mirror briefly unreachable, a way out not up yet). Exit 1 if anything is missing.
 */
export function packagesScript(groups: { essential: readonly string[]; other: readonly string[] }, why: string): string {
  return [
    "#!/bin/sh",
    `# wg-ts-packages essential|other: the node plan's Debian packages, ${why}.`,
    "# Each apt run is retried every 20 s for up to 30 minutes; the essential packages (WireGuard tools,",
    "# nftables, iproute2, curl) go first and alone, every other package on its own, so a package that",
    "# cannot be installed never takes the others down with it.",
    "set -u",
    "export DEBIAN_FRONTEND=noninteractive",
    "install() {",
    "  i=0",
    '  until apt-get update -q && apt-get install -y -q "$@"; do',
    "    i=$((i + 1))",
    '    if [ "$i" -ge 90 ]; then echo "wg-ts-packages: could not install $* ($i attempts)" >&2; return 1; fi',
    '    echo "wg-ts-packages: apt failed for $* (attempt $i); retrying in 20 s" >&2',
    "    sleep 20",
    "  done",
    "}",
    "status=0",
    'case "${1:-essential}" in',
    `  essential) ${groups.essential.length > 0 ? `install ${groups.essential.join(" ")} || status=1` : ":"} ;;`,
    `  other) for p in ${groups.other.length > 0 ? groups.other.join(" ") : ""}; do install "$p" || status=1; done ;;`,
    '  *) echo "usage: wg-ts-packages essential|other" >&2; exit 2 ;;',
    "esac",
    "exit $status",
    "",
  ].join("\n");
}

/**
 * wg-ts-node: downloads the Node.js runtime tarball (./node-runtime.ts) from the deployment's object
 * storage with retries, refuses it unless its SHA-256 matches, unpacks it into /usr/local (bin/node,
 * bin/npm, lib/node_modules/npm: npm's global prefix is /usr/local). Does nothing if that exact
 * runtime is installed. `url`/`sha256` are shell-safe tokens or literals.
 */
export function nodeRuntimeScript(url: string, sha256: string): string {
  return [
    "#!/bin/sh",
    "# wg-ts-node: the Node.js runtime wg-deploy shipped next to wg-ts.tgz (Node.js 24 LTS + npm, the",
    "# layout of nodejs.org's linux-x64 tarball), from the deployment's own bucket: no third-party",
    "# repository at boot. Retried downloads, SHA-256 checked, unpacked into /usr/local.",
    "set -eu",
    `URL='${url}'`,
    `SHA256='${sha256}'`,
    "marker=/usr/local/lib/wg-ts-node.sha256",
    'if [ "$(cat "$marker" 2>/dev/null)" = "$SHA256" ] && /usr/local/bin/node --version >/dev/null 2>&1; then',
    '  echo "wg-ts-node: node $(/usr/local/bin/node --version) already installed"',
    "  exit 0",
    "fi",
    "tmp=$(mktemp -d)",
    "trap 'rm -rf \"$tmp\"' EXIT",
    'curl -fsSL --retry 30 --retry-delay 5 --retry-all-errors --connect-timeout 10 -o "$tmp/node.tgz" "$URL"',
    'echo "$SHA256  $tmp/node.tgz" | sha256sum -c -',
    'tar -xzf "$tmp/node.tgz" -C /usr/local --strip-components=1 --no-same-owner --exclude="*/README.md" --exclude="*/CHANGELOG.md" --exclude="*/LICENSE"',
    'echo "$SHA256" > "$marker"',
    'echo "wg-ts-node: node $(/usr/local/bin/node --version), npm $(/usr/local/bin/npm --version --no-update-notifier) in /usr/local from $URL"',
    "",
  ].join("\n");
}
