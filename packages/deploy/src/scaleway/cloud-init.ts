/**
 * NodePlan -> cloud-init user-data (`#cloud-config`) for a Scaleway Instance.
 *
 * The plan is the one the lab applies (src/plan/): its files are written byte for byte with
 * `write_files` (placeholders resolved to Terraform expressions: keys, public IPs, the database
 * password), its sysctls, nftables ruleset and boot routes are applied by a oneshot unit
 * `wg-ts-network.service`, its services become systemd units, its packages are installed by apt.
 * Gateways also get a pinned Node.js (./nodesource.ts) and the wg-ts npm tarball shipped by wg-deploy
 * (../artifact/pack.ts), installed with `npm install -g --offline`, and run the tunnel as
 * `wg-ts@<if>.service` (`wg-ts up <if>`).
 *
 * The result is a Terraform template string (see ./holes.ts): Terraform fills in the expressions at
 * apply time, so no key or password is ever in main.tf.json.
 */
import { Document } from "yaml";
import { renderTemplate, routeCommand } from "../plan/render.js";
import type { FilePlan, NodePlan, Placeholder, RoutePlan, ServicePlan } from "../plan/types.js";
import { Holes } from "./holes.js";
import { NODEJS_PACKAGE, NODESOURCE_KEYRING_BASE64, NODESOURCE_KEYRING_PATH, NODESOURCE_PIN, NODESOURCE_SOURCES } from "./nodesource.js";

/** Where wg-deploy's own files live on an instance. */
export const INSTANCE_PATHS = {
  networkScript: "/usr/local/sbin/wg-ts-network",
  networkUnit: "/etc/systemd/system/wg-ts-network.service",
  installScript: "/usr/local/sbin/wg-ts-install",
  packagesScript: "/usr/local/sbin/wg-ts-packages",
  sysctl: "/etc/sysctl.d/60-wg-ts.conf",
  nftables: "/etc/wg-ts/nftables.nft",
  wireguardUnit: (interfaceName: string) => `wg-ts@${interfaceName}.service`,
  monitorUnit: (name: string) => `/etc/systemd/system/${name}.service`,
  dhcpUnit: (name: string) => `/etc/systemd/system/wg-ts-${name}.service`,
} as const;

/** What the renderer needs besides the plan; every member is a Terraform expression (no `${}`). */
export interface CloudInitInputs {
  readonly plan: NodePlan;
  /** Placeholder -> Terraform expression. `file-path` placeholders are resolved to the path itself. */
  readonly expression: (placeholder: Placeholder) => string;
  /** Private network name -> expression of its bare UUID (metadata API form). */
  readonly networkUuid: (network: string) => string;
  /** Expression of the operator's SSH public key. */
  readonly sshPublicKey: string;
  /** For nodes that run wg-ts: URL and SHA-256 (hex) of the wg-ts tarball. */
  readonly artifact?: { readonly url: string; readonly sha256: string };
}

/** Command substitution giving the uplink's next hop at the time the line runs (wg-quick PostUp). */
export const UPLINK_GATEWAY_COMMAND = "$(ip -4 route show default | awk '{print $3; exit}')";

/** Renders the plan's file exactly as every target does, with `resolve` for the placeholders. */
export function renderPlanFile(file: FilePlan, resolve: (p: Placeholder) => string): string {
  return renderTemplate(file.content, resolve);
}

/** Looks up a private NIC by network in the metadata API (Python: present on every cloud-init image). */
const NIC_LOOKUP = `nic_for_network() {
  python3 - "$1" <<'PY'
import json, os, sys, urllib.request
network = sys.argv[1]
conf = json.load(urllib.request.urlopen("http://169.254.42.42/conf?format=json", timeout=5))
for nic in conf.get("private_nics") or []:
    if nic.get("private_network_id") == network:
        mac = nic.get("mac_address", "").lower()
        for name in sorted(os.listdir("/sys/class/net")):
            try:
                with open(os.path.join("/sys/class/net", name, "address")) as f:
                    if f.read().strip().lower() == mac:
                        print(name)
                        sys.exit(0)
            except OSError:
                pass
sys.exit(1)
PY
}

# attach NETWORK_UUID ADDRESS/PREFIX NAME: waits for the NIC, brings it up with the plan's address.
attach() {
  tries=0
  until dev=$(nic_for_network "$1"); do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then echo "wg-ts-network: no NIC on private network $3 ($1) after 5 minutes" >&2; exit 1; fi
    sleep 5
  done
  ip link set dev "$dev" up
  ip address replace "$2" dev "$dev"
  echo "wg-ts-network: $3 -> $dev $2"
}
`;

/**
 * Scaleway-only: keep the metadata API (169.254.42.42) on the uplink's current path, so a tunnel
 * that takes the default route (0.0.0.0/1 + 128.0.0.0/1) does not swallow it.
 */
const METADATA_PIN = `# Scaleway metadata API stays on the uplink (a spoke's tunnel routes 128.0.0.0/1).
metadata=$(ip -4 -o route get 169.254.42.42 | sed -n 's/^\\(169\\.254\\.42\\.42\\( via [0-9.]*\\)\\{0,1\\} dev [^ ]*\\).*/\\1/p')
if [ -n "$metadata" ]; then ip route replace $metadata; fi
`;

/** A systemd unit file: [Unit] and [Service] lines as given, installed into multi-user.target. */
function systemdUnit(unit: readonly string[], service: readonly string[]): string {
  return ["[Unit]", ...unit, "", "[Service]", ...service, "", "[Install]", "WantedBy=multi-user.target", ""].join("\n");
}

/** Renders `inputs.plan` to a Terraform template string holding a `#cloud-config` document. */
export function renderCloudInit(inputs: CloudInitInputs): string {
  const { plan } = inputs;
  const holes = new Holes();
  const resolve = (placeholder: Placeholder): string => {
    if (placeholder.kind === "file-path") return placeholder.path;
    if (placeholder.kind === "uplink-gateway") return UPLINK_GATEWAY_COMMAND;
    return holes.token(inputs.expression(placeholder));
  };
  const runsWireGuard = plan.wireguard !== undefined;
  if (runsWireGuard && !inputs.artifact) throw new Error(`cloud-init ${plan.node}: a WireGuard node needs the wg-ts artifact`);
  const hasUplink = plan.uplink !== undefined;

  const writeFiles: Record<string, unknown>[] = [];
  const file = (path: string, permissions: number, content: string, extra: Record<string, unknown> = {}) =>
    writeFiles.push({ path, owner: "root:root", permissions: `0${permissions.toString(8)}`, content, ...extra });

  // wireguard-tools recommends a kernel module package: wg-ts is the userspace implementation.
  file("/etc/apt/apt.conf.d/60-wg-ts-no-recommends", 0o644, 'APT::Install-Recommends "false";\n');
  if (runsWireGuard) {
    file(NODESOURCE_KEYRING_PATH, 0o644, NODESOURCE_KEYRING_BASE64, { encoding: "b64" });
    file("/etc/apt/sources.list.d/nodesource.sources", 0o644, NODESOURCE_SOURCES);
    file("/etc/apt/preferences.d/nodejs", 0o644, NODESOURCE_PIN);
  }
  // The plan's own files, byte for byte (the lab writes the same bytes).
  for (const planFile of plan.files) file(planFile.path, planFile.mode, renderPlanFile(planFile, resolve));

  const sysctls = Object.entries(plan.sysctls);
  if (sysctls.length > 0) file(INSTANCE_PATHS.sysctl, 0o644, sysctls.map(([k, v]) => `${k} = ${v}\n`).join(""));
  if (plan.nftables !== undefined) file(INSTANCE_PATHS.nftables, 0o600, plan.nftables);

  const dhcpRoutes = plan.interfaces.flatMap((i) => i.dhcp?.routes ?? []);
  const routeLine = (r: RoutePlan): string => renderTemplate(routeCommand(r, plan.wireguard?.interfaceName ?? "wg0"), resolve) + "\n";
  const network: string[] = [
    "#!/bin/sh\n",
    `# wg-ts-network: the network part of the node plan of ${plan.node} (generated by wg-deploy).\n`,
    "# Private NIC addresses (IPAM-booked, also served by DHCP), sysctls, nftables, boot routes.\n",
    "set -eu\n",
    NIC_LOOKUP,
    ...plan.interfaces.map((i) => `attach ${holes.token(inputs.networkUuid(i.network))} ${i.address} ${i.network}\n`),
    ...(hasUplink ? [METADATA_PIN] : []),
    ...(sysctls.length > 0 ? [`sysctl -p ${INSTANCE_PATHS.sysctl}\n`] : []),
    ...(plan.nftables !== undefined ? [`nft -f ${INSTANCE_PATHS.nftables}\n`] : []),
    ...plan.routes.map(routeLine),
    ...(dhcpRoutes.length > 0
      ? [
          "# Option 121 routes of the gateway's dnsmasq, also installed here: Scaleway's own DHCP (IPAM)\n",
          "# answers on every private network too and does not carry them.\n",
          ...dhcpRoutes.map(routeLine),
        ]
      : []),
  ];
  file(INSTANCE_PATHS.networkScript, 0o755, network.join(""));

  const wireguardUnits = plan.services.filter((s): s is Extract<ServicePlan, { kind: "wireguard" }> => s.kind === "wireguard");
  const monitors = plan.services.filter((s): s is Extract<ServicePlan, { kind: "monitor" }> => s.kind === "monitor");
  const dhcpServers = plan.services.filter((s): s is Extract<ServicePlan, { kind: "dhcp-server" }> => s.kind === "dhcp-server");
  const before = [...wireguardUnits.map((s) => INSTANCE_PATHS.wireguardUnit(s.interfaceName)), ...monitors.map((m) => `${m.name}.service`)];
  file(
    INSTANCE_PATHS.networkUnit,
    0o644,
    systemdUnit(
      [
        `Description=wg-ts node plan of ${plan.node}: private NICs, sysctls, nftables, boot routes`,
        "Wants=network-online.target",
        "After=network-online.target",
        ...(before.length > 0 ? [`Before=${before.join(" ")}`] : []),
      ],
      ["Type=oneshot", "RemainAfterExit=yes", `ExecStart=${INSTANCE_PATHS.networkScript}`],
    ),
  );
  for (const monitor of monitors) {
    file(
      INSTANCE_PATHS.monitorUnit(monitor.name),
      0o644,
      systemdUnit(
        [
          `Description=${monitor.name}: restart the tunnel when ${monitor.probe} stops answering (log ${monitor.logFile})`,
          `After=${wireguardUnits.map((s) => INSTANCE_PATHS.wireguardUnit(s.interfaceName)).join(" ")}`,
        ],
        [`ExecStart=${monitor.script}`, "Restart=always", "RestartSec=5"],
      ),
    );
  }
  for (const dhcp of dhcpServers) {
    // dnsmasq-base has no unit of its own: this one runs the plan's configuration only.
    file(
      INSTANCE_PATHS.dhcpUnit(dhcp.name),
      0o644,
      systemdUnit(
        [
          `Description=${dhcp.name}: DHCP on ${dhcp.network} (${dhcp.listenAddress}), host addresses and option 121 routes`,
          "Requires=wg-ts-network.service",
          "After=wg-ts-network.service",
        ],
        [
          "ExecStartPre=/bin/mkdir -p /var/lib/wg-ts",
          `ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=${dhcp.config} --pid-file=/run/wg-ts-${dhcp.name}.pid`,
          "Restart=always",
          "RestartSec=5",
        ],
      ),
    );
  }
  if (inputs.artifact) {
    file(
      INSTANCE_PATHS.installScript,
      0o755,
      [
        "#!/bin/sh",
        "# wg-ts-install: installs the wg-ts npm tarball that wg-deploy packed (packages/deploy/README.md,",
        "# \"How wg-ts reaches the instances\"): download, verify SHA-256, `npm install -g` it offline (its",
        "# dependencies are bundled; npm's cache is a temporary directory), install its systemd unit.",
        "set -eu",
        `URL='${holes.token(inputs.artifact.url)}'`,
        `SHA256='${holes.token(inputs.artifact.sha256)}'`,
        "tmp=$(mktemp -d)",
        "trap 'rm -rf \"$tmp\"' EXIT",
        'curl -fsSL --retry 10 --retry-delay 6 --retry-all-errors -o "$tmp/wg-ts.tgz" "$URL"',
        'echo "$SHA256  $tmp/wg-ts.tgz" | sha256sum -c -',
        'npm_config_cache="$tmp/npm-cache" npm install --global --offline --no-audit --no-fund --no-update-notifier "$tmp/wg-ts.tgz"',
        'package="$(npm root --global)/wg-ts"',
        'install -m 0644 "$package/systemd/wg-ts@.service" /etc/systemd/system/wg-ts@.service',
        "# The unit's program must exist (the daemon package decides the path; npm put wg-ts on PATH).",
        "exe=$(sed -n 's/^ExecStart=[-@+!:]*\\([^ ]*\\).*/\\1/p' /etc/systemd/system/wg-ts@.service | head -n 1)",
        'if [ ! -x "$exe" ]; then echo "wg-ts-install: ExecStart program $exe of wg-ts@.service is missing" >&2; exit 1; fi',
        'if ! command -v wg-ts >/dev/null; then echo "wg-ts-install: wg-ts is not on PATH after npm install -g (prefix $(npm prefix --global))" >&2; exit 1; fi',
        "systemctl daemon-reload",
        'echo "wg-ts-install: node $(node --version), wg-ts $(node -p "require(process.argv[1]).version" "$package/package.json") at $(command -v wg-ts) from $URL"',
        "",
      ].join("\n"),
    );
  }
  const packages = [...plan.packages, ...(runsWireGuard ? ["curl", "ca-certificates"] : [])];
  if (!hasUplink && packages.length > 0) {
    // No public IP: the internet is reachable only through the spoke gateway once its tunnel is up.
    file(
      INSTANCE_PATHS.packagesScript,
      0o755,
      [
        "#!/bin/sh",
        "# wg-ts-packages: apt through the gateway's tunnel (no public IP here); retries up to 30 minutes.",
        "set -u",
        "for i in $(seq 1 90); do",
        `  if apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${packages.join(" ")}; then exit 0; fi`,
        "  sleep 20",
        "done",
        "exit 1",
        "",
      ].join("\n"),
    );
  }

  const runcmd: string[][] = [
    ["systemctl", "daemon-reload"],
    ["systemctl", "enable", "--now", "wg-ts-network.service"],
  ];
  if (!hasUplink && packages.length > 0) runcmd.push([INSTANCE_PATHS.packagesScript]);
  if (inputs.artifact) runcmd.push([INSTANCE_PATHS.installScript]);
  for (const s of wireguardUnits) runcmd.push(["systemctl", "enable", "--now", INSTANCE_PATHS.wireguardUnit(s.interfaceName)]);
  for (const m of monitors) runcmd.push(["systemctl", "enable", "--now", `${m.name}.service`]);
  for (const d of dhcpServers) runcmd.push(["systemctl", "enable", "--now", `wg-ts-${d.name}.service`]);

  const config: Record<string, unknown> = {
    hostname: plan.hostname,
    preserve_hostname: false,
    ssh_authorized_keys: [holes.token(`jsonencode(${inputs.sshPublicKey})`)],
    ...(hasUplink
      ? {
          package_update: true,
          packages: [...packages, ...(runsWireGuard ? [[NODEJS_PACKAGE.name, NODEJS_PACKAGE.version]] : [])],
        }
      : {}),
    write_files: writeFiles,
    runcmd,
  };
  const yaml = new Document(config).toString({ lineWidth: 0, blockQuote: "literal" });
  return holes.fill(`#cloud-config\n# ${plan.node} (${plan.kind}): rendered by wg-deploy from its node plan\n${yaml}`);
}
