/**
 * NodePlan -> cloud-init user-data (`#cloud-config`) for a cloud instance (Scaleway Instance, EC2).
 *
 * The plan is the one the lab applies (src/plan/): its files are written byte for byte with
 * `write_files` (placeholders resolved to Terraform expressions: keys, public IPs, the database
 * password), its sysctls, nftables ruleset and boot routes are applied by a oneshot unit
 * `wg-ts-network.service`, its services become systemd units, its packages are installed by apt
 * (`wg-ts-packages`, retried). Gateways also get Node.js 24 (./node-runtime.ts, `wg-ts-node`) and the
 * wg-ts npm tarball (../artifact/pack.ts), both from the deployment's own object storage, installed
 * with `npm install -g --offline`, and run the tunnel as `wg-ts@<if>.service` (`wg-ts up <if>`).
 * What must survive late or missing resources at boot is in ./first-boot.ts.
 *
 * The result is a Terraform template string (see ../terraform/holes.ts): Terraform fills in the
 * expressions at apply time, so no key or password is ever in main.tf.json.
 *
 * What differs per cloud is a {@link CloudPlatform}: how a private NIC is found and addressed
 * (Scaleway: metadata API by private network; AWS: the ENI's MAC address), what must stay on the
 * uplink's path (Scaleway's metadata API) and how the operator's SSH key arrives.
 */
import { Document } from "yaml";
import { renderTemplate, routeCommand } from "../plan/render.js";
import type { FilePlan, NodePlan, Placeholder, RoutePlan, ServicePlan } from "../plan/types.js";
import { Holes } from "../terraform/holes.js";
import {
  firewallAndSysctls,
  NETWORK_PRELUDE,
  NETWORK_UNIT_RESTART,
  NIC_ATTACH,
  nodeRuntimeScript,
  packageGroups,
  packagesScript,
  UPLINK_POLICY_ROUTING,
} from "./first-boot.js";

/** Where wg-deploy's own files live on an instance. */
export const INSTANCE_PATHS = {
  networkScript: "/usr/local/sbin/wg-ts-network",
  networkUnit: "/etc/systemd/system/wg-ts-network.service",
  installScript: "/usr/local/sbin/wg-ts-install",
  packagesScript: "/usr/local/sbin/wg-ts-packages",
  nodeScript: "/usr/local/sbin/wg-ts-node",
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
  /** For nodes that run wg-ts: URL and SHA-256 (hex) of the wg-ts tarball. */
  readonly artifact?: { readonly url: string; readonly sha256: string };
  /** For nodes that run wg-ts: URL and SHA-256 (hex) of the Node.js runtime tarball (./node-runtime.ts). */
  readonly nodeRuntime?: { readonly url: string; readonly sha256: string };
}

/** A private interface of the plan, as the platform's attach line sees it. */
export interface PlatformInterface {
  readonly network: string;
  /** "172.16.32.10/22". */
  readonly address: string;
}

/** What differs between clouds in the rendered user-data. */
export interface CloudPlatform {
  /** Second comment line of wg-ts-network. */
  readonly networkComment: string;
  /**
   * Shell defining `find_nic KEY ADDRESS/PREFIX` (prints `DEVICE [HOW]`, returns non-zero while the
   * NIC is not there), used by the shared `attach KEY ADDRESS/PREFIX NETWORK` (./first-boot.ts) that
   * retries it. Runs under `set -u` only: it must not exit the script.
   */
  readonly nicFunctions: string;
  /** One shell line `attach KEY ADDRESS/PREFIX NETWORK` for `iface`; `token` turns a Terraform expression into a hole. */
  attachLine(iface: PlatformInterface, token: (expression: string) => string): string;
  /** Shell run on nodes with a public uplink, before the routes (e.g. pin a metadata API to it). */
  readonly uplinkPin?: string;
  /** Expression of the operator's SSH public key for `ssh_authorized_keys`; absent = none (EC2 key pair). */
  readonly sshPublicKey?: string;
  /**
   * No effect any more: every node installs its packages with the retrying `wg-ts-packages`
   * (./first-boot.ts), never with cloud-init's `packages:` (one failing package failed them all).
   */
  readonly packagesByScript?: boolean;
}

/** Command substitution giving the uplink's next hop at the time the line runs (wg-quick PostUp). */
export const UPLINK_GATEWAY_COMMAND = "$(ip -4 route show default | awk '{print $3; exit}')";

/** Renders the plan's file exactly as every target does, with `resolve` for the placeholders. */
export function renderPlanFile(file: FilePlan, resolve: (p: Placeholder) => string): string {
  return renderTemplate(file.content, resolve);
}

/** A systemd unit file: [Unit] and [Service] lines as given, installed into multi-user.target. */
function systemdUnit(unit: readonly string[], service: readonly string[]): string {
  return ["[Unit]", ...unit, "", "[Service]", ...service, "", "[Install]", "WantedBy=multi-user.target", ""].join("\n");
}

/** Renders `inputs.plan` for `platform` to a Terraform template string holding a `#cloud-config` document. */
export function renderCloudInitFor(platform: CloudPlatform, inputs: CloudInitInputs): string {
  const { plan } = inputs;
  const holes = new Holes();
  const resolve = (placeholder: Placeholder): string => {
    if (placeholder.kind === "file-path") return placeholder.path;
    if (placeholder.kind === "uplink-gateway") return UPLINK_GATEWAY_COMMAND;
    return holes.token(inputs.expression(placeholder));
  };
  const runsWireGuard = plan.wireguard !== undefined;
  if (runsWireGuard && !inputs.artifact) throw new Error(`cloud-init ${plan.node}: a WireGuard node needs the wg-ts artifact`);
  if (runsWireGuard && !inputs.nodeRuntime) throw new Error(`cloud-init ${plan.node}: a WireGuard node needs the Node.js runtime (cloud/node-runtime.ts)`);
  const hasUplink = plan.uplink !== undefined;

  const writeFiles: Record<string, unknown>[] = [];
  const file = (path: string, permissions: number, content: string, extra: Record<string, unknown> = {}) =>
    writeFiles.push({ path, owner: "root:root", permissions: `0${permissions.toString(8)}`, content, ...extra });

  // wireguard-tools recommends a kernel module package: wg-ts is the userspace implementation.
  file("/etc/apt/apt.conf.d/60-wg-ts-no-recommends", 0o644, 'APT::Install-Recommends "false";\n');
  // The plan's own files, byte for byte (the lab writes the same bytes).
  for (const planFile of plan.files) file(planFile.path, planFile.mode, renderPlanFile(planFile, resolve));

  const sysctls = Object.entries(plan.sysctls);
  if (sysctls.length > 0) file(INSTANCE_PATHS.sysctl, 0o644, sysctls.map(([k, v]) => `${k} = ${v}\n`).join(""));
  if (plan.nftables !== undefined) file(INSTANCE_PATHS.nftables, 0o600, plan.nftables);

  const dhcpRoutes = plan.interfaces.flatMap((i) => i.dhcp?.routes ?? []);
  const routeLine = (r: RoutePlan): string => {
    const command = renderTemplate(routeCommand(r, plan.wireguard?.interfaceName ?? "wg0"), resolve);
    return `${command} || fail "route not installed: ${command.replace(/["$`\\]/g, "")}"\n`;
  };
  const network: string[] = [
    "#!/bin/sh\n",
    `# wg-ts-network: the network part of the node plan of ${plan.node} (generated by wg-deploy).\n`,
    `${platform.networkComment}\n`,
    "# Order: firewall, sysctls, the uplink, then the private NICs (waited for, never fatal to the rest),\n",
    "# then the routes. Idempotent; exits 1 if anything is missing, and its unit runs it again.\n",
    NETWORK_PRELUDE,
    firewallAndSysctls(plan.nftables !== undefined ? INSTANCE_PATHS.nftables : undefined, sysctls.length > 0 ? INSTANCE_PATHS.sysctl : undefined),
    ...(hasUplink && platform.uplinkPin !== undefined ? [platform.uplinkPin] : []),
    ...(hasUplink ? [UPLINK_POLICY_ROUTING] : []),
    `private_nics=${plan.interfaces.length}\n`,
    platform.nicFunctions,
    NIC_ATTACH,
    ...plan.interfaces.map((i) => `${platform.attachLine(i, (e) => holes.token(e))}\n`),
    ...plan.routes.map(routeLine),
    ...(dhcpRoutes.length > 0
      ? [
          "# Option 121 routes of the gateway's dnsmasq, also installed here: Scaleway's own DHCP (IPAM)\n",
          "# answers on every private network too and does not carry them.\n",
          ...dhcpRoutes.map(routeLine),
        ]
      : []),
    "exit $status\n",
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
        ...NETWORK_UNIT_RESTART.unit,
      ],
      ["Type=oneshot", "RemainAfterExit=yes", `ExecStart=${INSTANCE_PATHS.networkScript}`, ...NETWORK_UNIT_RESTART.service],
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
  if (inputs.nodeRuntime) {
    file(INSTANCE_PATHS.nodeScript, 0o755, nodeRuntimeScript(holes.token(inputs.nodeRuntime.url), holes.token(inputs.nodeRuntime.sha256)));
  }
  // Every node installs its packages with the retrying script (cloud-init's `packages:` is one apt run:
  // one package missing from the index, or the mirror briefly unreachable, and nothing is installed).
  const groups = packageGroups([...plan.packages, ...(runsWireGuard ? ["curl", "ca-certificates"] : [])], runsWireGuard);
  const hasPackages = groups.essential.length + groups.other.length > 0;
  if (hasPackages) {
    file(
      INSTANCE_PATHS.packagesScript,
      0o755,
      packagesScript(groups, hasUplink ? "from the image's mirror" : "through the gateway's tunnel (no public IP here)"),
    );
  }

  // With an uplink, the essential packages come first (nftables before the firewall is loaded); without
  // one, the network first (the packages come through the gateway's tunnel, via the boot routes).
  // wg-ts-network may wait for late NICs (up to a minute per run) and is retried by its unit.
  const runcmd: string[][] = [["systemctl", "daemon-reload"]];
  const essential = hasPackages ? [[INSTANCE_PATHS.packagesScript, "essential"]] : [];
  const networkUp = [["systemctl", "enable", "--now", "wg-ts-network.service"]];
  runcmd.push(...(hasUplink ? [...essential, ...networkUp] : [...networkUp, ...essential]));
  if (inputs.nodeRuntime) runcmd.push([INSTANCE_PATHS.nodeScript]);
  if (inputs.artifact) runcmd.push([INSTANCE_PATHS.installScript]);
  for (const s of wireguardUnits) runcmd.push(["systemctl", "enable", "--now", INSTANCE_PATHS.wireguardUnit(s.interfaceName)]);
  for (const m of monitors) runcmd.push(["systemctl", "enable", "--now", `${m.name}.service`]);
  if (groups.other.length > 0) runcmd.push([INSTANCE_PATHS.packagesScript, "other"]);
  for (const d of dhcpServers) runcmd.push(["systemctl", "enable", "--now", `wg-ts-${d.name}.service`]);

  const config: Record<string, unknown> = {
    hostname: plan.hostname,
    preserve_hostname: false,
    ...(platform.sshPublicKey !== undefined ? { ssh_authorized_keys: [holes.token(`jsonencode(${platform.sshPublicKey})`)] } : {}),
    write_files: writeFiles,
    runcmd,
  };
  const yaml = new Document(config).toString({ lineWidth: 0, blockQuote: "literal" });
  return holes.fill(`#cloud-config\n# ${plan.node} (${plan.kind}): rendered by wg-deploy from its node plan\n${yaml}`);
}
