/**
 * The local lab: applies the node plans to network namespaces on this machine.
 *
 * `up` runs numbered steps (progress on stderr, each naming its host); when one fails it says which
 * step and host, tears down everything (same code as `down`) and rethrows. `down` is idempotent and
 * also cleans a half-built lab left by a crash: it sweeps the lab's namespaces (those of the layout
 * and those recorded in lab.json), the processes inside, stale UAPI sockets and the state files.
 */
import { existsSync, mkdirSync, rmSync, rmdirSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { withPrefixLength } from "../model/ipv4.js";
import type { Gateway, Topology } from "../model/topology.js";
import { DNSMASQ_PATHS } from "../plan/dnsmasq.js";
import { GATEWAY_PATHS, planTopology } from "../plan/plan.js";
import { renderTemplate } from "../plan/render.js";
import type { NodePlan, PlanOptions, Resolver, RoutePlan } from "../plan/types.js";
import type { DeployIo } from "../target.js";
import {
  INTERNET_BRIDGE,
  INTERNET_ROUTER,
  labFilePath,
  labLayout,
  labWireguardInterface,
  namespaceOf,
  nodeDir,
  PUBLIC_CIDR,
  REMOTE_SERVER,
  UPLINK_DEVICE,
  type LabLayout,
} from "./layout.js";
import { acquireLease, startDnsmasq } from "./dhcp.js";
import { buildNatRouter, wireBehindNat } from "./nat.js";
import { createNamespace, deleteNamespace, existingLabNamespaces, stopNamespaceProcesses } from "./namespaces.js";
import { markLabOwner, readLabOwner } from "./owner.js";
import { postgresBinDir, postgresPaths, postgresReady, startPostgres, stopPostgres, type PostgresqlService } from "./postgres.js";
import { findExecutable, run, runIn, runInteractive, spawnDetached, succeeds } from "./shell.js";
import { createSecrets, ensureStateDir, readRecord, readSecrets, writeFileAtomic, writeRecord, type LabSecrets } from "./state.js";
import { runLogged, shellQuote, tunnelImplementation, type TunnelImplementation } from "./wireguard.js";

/** Where wg(8) and the daemons keep UAPI sockets (shared by every namespace). */
const UAPI_DIR = "/var/run/wireguard";
/** How long `up` waits for every gateway pair to complete a handshake. */
const HANDSHAKE_TIMEOUT_MS = 20_000;

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

/** A failed step of `up`: which step, on which host. */
export class LabStepError extends Error {
  override name = "LabStepError";
  constructor(
    readonly step: string,
    readonly host: string,
    override readonly cause: unknown,
  ) {
    super(`step "${step}" failed on ${host}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

interface Step {
  readonly host: string;
  readonly title: string;
  readonly run: () => Promise<void>;
}

export interface LabSettings {
  readonly topologyName: string;
  readonly topology: Topology;
  readonly io: DeployIo;
  readonly stateDir: string;
  /** "wg-ts" (default) or "wireguard-go". */
  readonly wireguard: string;
}

export class Lab {
  readonly layout: LabLayout;
  readonly implementation: TunnelImplementation;
  readonly plans: Map<string, NodePlan>;
  readonly #settings: LabSettings;
  #secrets: LabSecrets | undefined;

  constructor(settings: LabSettings) {
    this.#settings = settings;
    if (/\s/.test(settings.stateDir)) throw new Error(`the lab state dir must not contain whitespace: "${settings.stateDir}"`);
    this.layout = labLayout(settings.topology, settings.stateDir);
    this.implementation = tunnelImplementation(settings.wireguard, settings.io.env);
    this.plans = planTopology(settings.topology, this.planOptions());
  }

  get topology(): Topology {
    return this.#settings.topology;
  }

  #progress(line: string): void {
    this.#settings.io.stderr(`${line}\n`);
  }

  /** Lab plan options: unique WireGuard device names; the monitor restarts with the lab's implementation. */
  planOptions(): PlanOptions {
    return {
      wireguardInterfaceName: labWireguardInterface,
      restartTunnelCommand: ({ name, interfaceName }) => {
        const config = this.configPath(name, interfaceName);
        const implementation = this.implementationFor(name);
        const env = Object.entries(implementation.env).map(([k, v]) => `${k}=${shellQuote(v)} `).join("");
        const quote = (argv: string[]) => argv.map(shellQuote).join(" ");
        return `${env}${quote(implementation.downCommand(config))}; ${env}${quote(implementation.upCommand(config))}`;
      },
    };
  }

  /**
   * What runs `gateway`'s tunnel: the lab's implementation, except on a gateway of an `external` VPC
   * (seed 004's customer), which runs the wg-quick file it is given with Debian's wg-quick +
   * wireguard-go, as the customer would.
   */
  implementationFor(gateway: string): TunnelImplementation {
    const vpc = this.#settings.topology.gateways.find((g) => g.name === gateway)?.vpc;
    const external = this.#settings.topology.vpcs.find((v) => v.name === vpc)?.cloud === "external";
    return external ? tunnelImplementation("wireguard-go", this.#settings.io.env) : this.implementation;
  }

  /** Lab path of a gateway's wg-quick file. */
  configPath(gateway: string, interfaceName: string): string {
    return labFilePath(this.layout, gateway, GATEWAY_PATHS.wireguardConfig(interfaceName));
  }

  /** Log of a gateway's tunnel (`wireguard-<if>.log`, like the cloud's /var/log/wireguard-*.log). */
  tunnelLog(gateway: string, interfaceName: string): string {
    return labFilePath(this.layout, gateway, `/var/log/wireguard-${interfaceName}.log`);
  }

  get secrets(): LabSecrets {
    this.#secrets ??= readSecrets(this.layout.stateDir);
    return this.#secrets;
  }

  /** Resolves plan placeholders with the lab's keys, addresses and paths. */
  resolver(): Resolver {
    return (placeholder) => {
      switch (placeholder.kind) {
        case "wireguard-private-key":
        case "wireguard-public-key": {
          const pair = this.secrets.keys[placeholder.node];
          if (!pair) throw new Error(`no WireGuard key for ${placeholder.node} in the lab key store`);
          return placeholder.kind === "wireguard-private-key" ? pair.privateKey : pair.publicKey;
        }
        case "public-ip": {
          const ip = this.layout.publicIps.get(placeholder.node);
          if (!ip) throw new Error(`${placeholder.node} has no public IP in the lab`);
          return ip;
        }
        case "database-password":
          return this.secrets.databasePassword;
        case "database-address": {
          const host = this.topology.hosts.find((h) => h.name === this.topology.database?.host);
          if (!host) throw new Error(`topology ${this.topology.name} has no database`);
          return host.attachment.address;
        }
        case "uplink-gateway":
          return this.layout.natRouters.get(placeholder.node)?.insideAddress ?? INTERNET_ROUTER;
        case "file-path":
          return labFilePath(this.layout, placeholder.node, placeholder.path);
      }
    };
  }

  plan(node: string): NodePlan {
    const plan = this.plans.get(node);
    if (!plan) throw new Error(`no machine named "${node}" in topology ${this.topology.name}`);
    return plan;
  }

  gateway(node: string): Gateway {
    const gateway = this.topology.gateways.find((g) => g.name === node);
    if (!gateway) throw new Error(`"${node}" is not a gateway (gateways: ${this.topology.gateways.map((g) => g.name).join(", ")})`);
    return gateway;
  }

  // ---------------------------------------------------------------- up

  /** Builds the lab; a no-op when the same lab is already up and healthy. */
  async up(): Promise<void> {
    const owner = await readLabOwner();
    if (owner !== undefined && (owner.topology !== this.#settings.topologyName || owner.stateDir !== this.layout.stateDir)) {
      throw new Error(
        `another lab is up on this machine: topology ${owner.topology} (state dir ${owner.stateDir}); every lab uses the namespaces ` +
          `${this.layout.internetNamespace}, … — run \`wg-deploy down\` (without --topology it takes down whichever lab is up) first`,
      );
    }
    const record = readRecord(this.layout.stateDir);
    if (record?.status === "up") {
      if (record.topology !== this.#settings.topologyName) {
        throw new Error(`the lab is up with topology ${record.topology}; run \`wg-deploy down\` first`);
      }
      if (await this.healthy()) {
        this.#progress(`lab already up (topology ${record.topology}, WireGuard by ${record.wireguard}); nothing to do`);
        return;
      }
      this.#progress("lab recorded as up but unhealthy: rebuilding");
    }
    if (record !== undefined || (await this.existingNamespaces()).length > 0) {
      this.#progress("cleaning up what a previous run left behind");
      await this.down({ quiet: true });
    }
    const steps = this.steps();
    const started = Date.now();
    for (const [index, step] of steps.entries()) {
      this.#progress(`[${String(index + 1).padStart(2)}/${steps.length}] ${step.host}: ${step.title}`);
      try {
        await step.run();
      } catch (error) {
        const failure = new LabStepError(step.title, step.host, error);
        this.#progress(`step ${index + 1} failed on ${step.host}; rolling back`);
        try {
          await this.down({ quiet: true });
        } catch (cleanupError) {
          this.#progress(`rollback incomplete: ${(cleanupError as Error).message}`);
        }
        throw failure;
      }
    }
    this.#progress(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s (topology ${this.#settings.topologyName}, WireGuard by ${this.implementation.name})`);
  }

  /** The ordered steps of `up`. */
  steps(): Step[] {
    const layout = this.layout;
    const topology = this.topology;
    const steps: Step[] = [
      { host: "this machine", title: "check prerequisites", run: () => this.checkPrerequisites() },
      { host: "this machine", title: `state dir ${layout.stateDir} and secrets (keys, database password)`, run: async () => this.createState() },
      { host: "internet", title: `namespace ${layout.internetNamespace}: ${PUBLIC_CIDR} bridge, remote server ${REMOTE_SERVER}`, run: () => this.buildInternet() },
    ];
    for (const router of layout.natRouters.values()) {
      steps.push({ host: router.node, title: `namespace ${router.namespace}: masquerading router ${router.publicIp} in front of ${router.gateway} (${router.insideCidr})`, run: () => buildNatRouter(router, layout.internetNamespace) });
    }
    for (const plan of this.plans.values()) {
      steps.push({ host: plan.node, title: `namespace ${namespaceOf(layout, plan.node)}, sysctls`, run: () => this.createNode(plan) });
    }
    steps.push({ host: topology.bastion.name, title: "private network bridges (the VPC fabric) and bastion addresses", run: () => this.buildPrivateNetworks() });
    for (const plan of this.plans.values()) {
      steps.push({ host: plan.node, title: "links, addresses, routes, files", run: () => this.wireNode(plan) });
    }
    for (const gateway of topology.gateways) {
      const plan = this.plan(gateway.name);
      steps.push({ host: gateway.name, title: "nftables (filter, MSS clamping, NAT)", run: () => this.applyNftables(plan) });
      steps.push({
        host: gateway.name,
        title: `start ${this.implementationFor(gateway.name).name} (${plan.wireguard?.interfaceName ?? "?"})`,
        run: () => this.startTunnel(gateway.name),
      });
    }
    for (const plan of this.plans.values()) {
      for (const service of plan.services) {
        if (service.kind === "postgresql") {
          steps.push({ host: plan.node, title: `PostgreSQL on ${service.listenAddress}:${service.port}`, run: () => this.startDatabase(plan.node, service) });
        }
        if (service.kind === "monitor") {
          steps.push({ host: plan.node, title: `${service.name} (probes ${service.probe})`, run: () => this.startMonitor(plan.node, service.script) });
        }
        if (service.kind === "dhcp-server") {
          steps.push({ host: plan.node, title: `dnsmasq DHCP on ${service.network} (${service.listenAddress})`, run: () => this.startDhcpServer(plan.node, service.network, service.config, service.listenAddress) });
        }
      }
    }
    for (const plan of this.plans.values()) {
      for (const iface of plan.interfaces) {
        if (iface.dhcp === undefined) continue;
        const dhcp = iface.dhcp;
        steps.push({ host: plan.node, title: `dhclient on ${iface.network}: address and option 121 routes from ${dhcp.server}`, run: () => this.acquireDhcpLease(plan, iface.network, iface.address, dhcp.routes) });
      }
    }
    steps.push({ host: "overlay", title: "wait for every WireGuard handshake", run: () => this.waitForHandshakes() });
    steps.push({
      host: "this machine",
      title: "record the lab as up",
      run: async () => writeRecord(layout.stateDir, { ...this.record(), status: "up" }),
    });
    return steps;
  }

  record() {
    return {
      topology: this.#settings.topologyName,
      wireguard: this.implementation.name,
      status: "building" as const,
      namespaces: [...this.layout.namespaces.values()],
      startedAt: new Date().toISOString(),
    };
  }

  async checkPrerequisites(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, nftables, TUN)");
    const missing: string[] = [];
    const need = (command: string, provider: string, hosts: string) => {
      if (!findExecutable(command)) missing.push(`\`${command}\` (${provider}) needed on ${hosts}`);
    };
    need("ip", "iproute2", "every host");
    need("sysctl", "procps", "every host");
    for (const plan of this.plans.values()) {
      for (const pkg of plan.packages) for (const command of PACKAGE_COMMANDS[pkg] ?? []) need(command, pkg, plan.node);
      if (plan.interfaces.some((i) => i.dhcp !== undefined)) need("dhclient", "isc-dhcp-client", `${plan.node} (DHCP client in the lab)`);
      for (const r of plan.wireguard ? this.implementationFor(plan.node).requires : []) {
        const hosts = `${plan.node} (WireGuard by ${this.implementationFor(plan.node).name})`;
        if (r.file) {
          if (!existsSync(r.command)) missing.push(`${r.command} (${r.provider}) needed on ${hosts}`);
        } else need(r.command, r.provider, hosts);
      }
      if (plan.services.some((s) => s.kind === "postgresql")) {
        const bin = postgresBinDir(this.#settings.io.env);
        if (bin === undefined) missing.push(`PostgreSQL server binaries (postgresql; or set WG_DEPLOY_PG_BIN) needed on ${plan.node}`);
        else for (const tool of ["initdb", "pg_ctl", "postgres", "pg_isready"]) need(join(bin, tool), "postgresql", plan.node);
        if (!(await succeeds(["id", "-u", "postgres"]))) missing.push(`OS user \`postgres\` (postgresql) needed on ${plan.node}`);
      }
    }
    if (!existsSync("/dev/net/tun")) missing.push("/dev/net/tun (TUN devices) needed by the gateways");
    if (missing.length > 0) throw new Error(`missing prerequisites:\n  - ${[...new Set(missing)].join("\n  - ")}`);
  }

  createState(): void {
    ensureStateDir(this.layout.stateDir);
    writeRecord(this.layout.stateDir, this.record());
    this.#secrets = createSecrets(this.layout.stateDir, this.topology.gateways.map((g) => g.name));
  }

  async buildInternet(): Promise<void> {
    const ns = this.layout.internetNamespace;
    // The internet routes between the public addresses (endpoint routes point at its router address).
    await createNamespace(ns, { "net.ipv4.ip_forward": "1" });
    await run(["ip", "-n", ns, "link", "add", INTERNET_BRIDGE, "type", "bridge"]);
    await run(["ip", "-n", ns, "addr", "add", withPrefixLength(INTERNET_ROUTER, PUBLIC_CIDR), "dev", INTERNET_BRIDGE]);
    await run(["ip", "-n", ns, "link", "set", INTERNET_BRIDGE, "up"]);
    // The "remote server" is a local address of the internet (no dummy module needed).
    await run(["ip", "-n", ns, "addr", "add", `${REMOTE_SERVER}/32`, "dev", "lo"]);
    // Every lab shares this namespace: it says which lab built it (./owner.ts).
    await markLabOwner({ topology: this.#settings.topologyName, stateDir: this.layout.stateDir });
  }

  async createNode(plan: NodePlan): Promise<void> {
    await createNamespace(namespaceOf(this.layout, plan.node), plan.sysctls);
    mkdirSync(nodeDir(this.layout, plan.node), { recursive: true, mode: 0o711 });
  }

  async buildPrivateNetworks(): Promise<void> {
    const fabric = this.layout.fabricNamespace;
    for (const bridge of this.layout.bridges.values()) {
      await run(["ip", "-n", fabric, "link", "add", bridge, "type", "bridge"]);
      await run(["ip", "-n", fabric, "link", "set", bridge, "up"]);
    }
    for (const attachment of this.topology.bastion.attachments) {
      const bridge = this.layout.bridges.get(attachment.network) ?? "";
      await run(["ip", "-n", fabric, "addr", "add", withPrefixLength(attachment.address, attachment.cidr), "dev", bridge]);
    }
  }

  /** Uplink veth into the internet bridge, private veths into the network bridges, addresses, boot routes, files. */
  async wireNode(plan: NodePlan): Promise<void> {
    const ns = namespaceOf(this.layout, plan.node);
    const internet = this.layout.internetNamespace;
    const natRouter = this.layout.natRouters.get(plan.node);
    if (plan.uplink && natRouter) {
      await wireBehindNat(natRouter, ns);
    } else if (plan.uplink) {
      const port = this.layout.uplinkPorts.get(plan.node) ?? "";
      const publicIp = this.resolver()(plan.uplink.publicIp);
      await run(["ip", "link", "add", "name", UPLINK_DEVICE, "netns", ns, "type", "veth", "peer", "name", port, "netns", internet]);
      await run(["ip", "-n", internet, "link", "set", port, "master", INTERNET_BRIDGE, "up"]);
      await run(["ip", "-n", ns, "addr", "add", withPrefixLength(publicIp, PUBLIC_CIDR), "dev", UPLINK_DEVICE]);
      await run(["ip", "-n", ns, "link", "set", UPLINK_DEVICE, "up"]);
      await run(["ip", "-n", ns, "route", "add", "default", "via", INTERNET_ROUTER, "dev", UPLINK_DEVICE]);
    }
    for (const iface of plan.interfaces) {
      if (plan.kind === "bastion") continue; // the bastion's addresses sit on the bridges themselves
      const attachment = this.layout.attachments.find((a) => a.node === plan.node && a.network === iface.network);
      if (!attachment) throw new Error(`no lab attachment for ${plan.node} on ${iface.network}`);
      await run(["ip", "link", "add", "name", attachment.device, "netns", ns, "type", "veth", "peer", "name", attachment.bridgePort, "netns", this.layout.fabricNamespace]);
      await run(["ip", "-n", this.layout.fabricNamespace, "link", "set", attachment.bridgePort, "master", attachment.bridge, "up"]);
      // An interface served by DHCP gets its address (and routes) from dhclient, later.
      if (iface.dhcp === undefined) await run(["ip", "-n", ns, "addr", "add", iface.address, "dev", attachment.device]);
      await run(["ip", "-n", ns, "link", "set", attachment.device, "up"]);
    }
    const resolve = this.resolver();
    for (const route of plan.routes) {
      const to = typeof route.to === "string" ? route.to : `${resolve(route.to)}/32`;
      const via = route.via.kind === "address" ? ["via", route.via.address] : route.via.kind === "uplink" ? ["via", resolve(route.via.gateway)] : [];
      if (via.length === 0) throw new Error(`boot route ${to} into WireGuard on ${plan.node}: tunnel routes belong to wireguard.routes`);
      await run(["ip", "-n", ns, "route", "replace", to, ...via]);
    }
    for (const file of plan.files) {
      writeFileAtomic(labFilePath(this.layout, plan.node, file.path), renderTemplate(file.content, resolve), file.mode);
    }
  }

  async applyNftables(plan: NodePlan): Promise<void> {
    if (!plan.nftables) return;
    const path = join(nodeDir(this.layout, plan.node), "nftables.conf");
    writeFileAtomic(path, plan.nftables, 0o600);
    await runIn(namespaceOf(this.layout, plan.node), ["nft", "-f", path]);
  }

  async startTunnel(gateway: string): Promise<void> {
    const plan = this.plan(gateway);
    if (!plan.wireguard) throw new Error(`${gateway} has no WireGuard plan`);
    const ifname = plan.wireguard.interfaceName;
    await removeStaleSocket(ifname);
    const log = this.tunnelLog(gateway, ifname);
    mkdirSync(join(log, ".."), { recursive: true, mode: 0o711 });
    const implementation = this.implementationFor(gateway);
    await runLogged(["ip", "netns", "exec", namespaceOf(this.layout, gateway), ...implementation.upCommand(this.configPath(gateway, ifname))], log, implementation.env, 60_000);
  }

  async stopTunnel(gateway: string): Promise<void> {
    const plan = this.plan(gateway);
    if (!plan.wireguard) return;
    const ifname = plan.wireguard.interfaceName;
    const ns = namespaceOf(this.layout, gateway);
    const config = this.configPath(gateway, ifname);
    if ((await this.existingNamespaces()).includes(ns) && existsSync(config) && (await succeeds(["ip", "-n", ns, "link", "show", ifname]))) {
      try {
        const implementation = this.implementationFor(gateway);
        await runLogged(["ip", "netns", "exec", ns, ...implementation.downCommand(config)], this.tunnelLog(gateway, ifname), implementation.env, 15_000);
      } catch (error) {
        this.#progress(`${gateway}: ${this.implementationFor(gateway).name} down failed (${(error as Error).message.split("\n")[0]}); killing it`);
      }
    }
    // A daemon whose device vanished exits by itself; one killed -9 leaves its socket behind.
    for (let i = 0; i < 40 && existsSync(join(UAPI_DIR, `${ifname}.sock`)) && !(await socketIsStale(ifname)); i++) await sleep(50);
    await removeStaleSocket(ifname);
  }

  /** Restarts a gateway's tunnel (down, then up from the same file: PostUp brings its routes back). */
  async restart(gateway: string): Promise<void> {
    this.gateway(gateway);
    this.#ensureUp();
    this.#progress(`${gateway}: stopping ${this.implementationFor(gateway).name}`);
    await this.stopTunnel(gateway);
    this.#progress(`${gateway}: starting ${this.implementationFor(gateway).name}`);
    await this.startTunnel(gateway);
    this.#progress(`${gateway}: waiting for handshakes`);
    await this.waitForHandshakes([gateway]);
    this.#progress(`${gateway}: tunnel up`);
  }

  async startDatabase(node: string, service: PostgresqlService): Promise<void> {
    const bin = postgresBinDir(this.#settings.io.env);
    if (bin === undefined) throw new Error("PostgreSQL server binaries not found");
    const ns = namespaceOf(this.layout, node);
    await startPostgres(ns, nodeDir(this.layout, node), service, this.secrets.databasePassword, bin);
    if (!(await postgresReady(ns, bin, service.listenAddress, service.port))) throw new Error(`PostgreSQL does not answer on ${service.listenAddress}:${service.port}`);
  }

  /** The gateway's dnsmasq with its plan's configuration file. */
  async startDhcpServer(node: string, network: string, config: string, listenAddress: string): Promise<void> {
    const paths = [config, DNSMASQ_PATHS.leases(network), DNSMASQ_PATHS.log].map((p) => labFilePath(this.layout, node, p));
    for (const path of paths.slice(1)) mkdirSync(join(path, ".."), { recursive: true, mode: 0o711 });
    await startDnsmasq(namespaceOf(this.layout, node), paths[0] ?? "", join(nodeDir(this.layout, node), `dnsmasq-${network}.pid`), listenAddress);
  }

  /** The host's dhclient on `network`: the lease must give the planned address and the option 121 routes. */
  async acquireDhcpLease(plan: NodePlan, network: string, address: string, routes: readonly RoutePlan[]): Promise<void> {
    const attachment = this.layout.attachments.find((a) => a.node === plan.node && a.network === network);
    if (!attachment) throw new Error(`no lab attachment for ${plan.node} on ${network}`);
    await acquireLease(attachment.namespace, attachment.device, plan.hostname, nodeDir(this.layout, plan.node), { address, routes });
  }

  async startMonitor(node: string, script: string): Promise<void> {
    const path = labFilePath(this.layout, node, script);
    spawnDetached(["ip", "netns", "exec", namespaceOf(this.layout, node), "sh", path], this.implementation.env);
  }

  /** Latest handshake (epoch seconds) per peer public key of a gateway's device; empty if it does not answer. */
  async latestHandshakes(gateway: string): Promise<Map<string, number>> {
    const ifname = this.plan(gateway).wireguard?.interfaceName ?? "";
    try {
      const { stdout } = await runIn(namespaceOf(this.layout, gateway), ["wg", "show", ifname, "latest-handshakes"], { timeoutMs: 5000 });
      return new Map(
        stdout
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((line): [string, number] => {
            const [key, when] = line.split("\t");
            return [key ?? "", Number(when ?? 0)];
          }),
      );
    } catch {
      return new Map();
    }
  }

  /**
   * Waits until every gateway of `gateways` (default: all) has a handshake with each of its peers.
   * Pings over the overlay kick the handshakes off instead of waiting for the first keepalive.
   */
  async waitForHandshakes(gateways: readonly string[] = this.topology.gateways.map((g) => g.name), since = 0): Promise<void> {
    const deadline = Date.now() + HANDSHAKE_TIMEOUT_MS;
    const pending = () =>
      gateways.flatMap((name) => {
        const gateway = this.gateway(name);
        return gateway.peers.map((peer) => [gateway, peer] as const);
      });
    for (;;) {
      const missing: string[] = [];
      for (const [gateway, peer] of pending()) {
        const handshakes = await this.latestHandshakes(gateway.name);
        const peerKey = this.secrets.keys[peer]?.publicKey ?? "";
        if (!((handshakes.get(peerKey) ?? 0) > since)) {
          missing.push(`${gateway.name} <-> ${peer}`);
          const peerIp = this.gateway(peer).overlayIp;
          await runIn(namespaceOf(this.layout, gateway.name), ["ping", "-c", "1", "-W", "1", peerIp]).catch(() => undefined);
        }
      }
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`no WireGuard handshake after ${HANDSHAKE_TIMEOUT_MS / 1000} s: ${missing.join(", ")}`);
      await sleep(200);
    }
  }

  /**
   * The lab's namespaces that exist now: those of this topology's layout plus those a previous run
   * recorded. Never any other namespace, even with the same prefix (other tests use `wgts-…` too).
   */
  async existingNamespaces(): Promise<string[]> {
    let recorded: readonly string[] = [];
    try {
      recorded = readRecord(this.layout.stateDir)?.namespaces ?? [];
    } catch {
      // a corrupt lab.json must not stop `down`: the layout's names still apply
    }
    const ours = new Set([...this.layout.namespaces.values(), ...recorded]);
    return (await existingLabNamespaces()).filter((ns) => ours.has(ns));
  }

  /** True if every namespace exists, every tunnel answers UAPI and the database is ready. */
  async healthy(): Promise<boolean> {
    const existing = new Set(await existingLabNamespaces());
    if (![...this.layout.namespaces.values()].every((ns) => existing.has(ns))) return false;
    for (const gateway of this.topology.gateways) {
      const ifname = this.plan(gateway.name).wireguard?.interfaceName ?? "";
      if (!(await succeeds(["wg", "show", ifname], { timeoutMs: 5000 }))) return false;
    }
    const bin = postgresBinDir(this.#settings.io.env);
    for (const plan of this.plans.values()) {
      for (const service of plan.services) {
        if (service.kind === "postgresql" && (bin === undefined || !(await postgresReady(namespaceOf(this.layout, plan.node), bin, service.listenAddress, service.port)))) return false;
      }
    }
    return true;
  }

  #ensureUp(): void {
    if (readRecord(this.layout.stateDir)?.status !== "up") throw new Error(`the lab is not up (no complete lab in ${this.layout.stateDir}); run \`wg-deploy up\``);
  }

  // ---------------------------------------------------------------- down

  /** Removes every namespace, process, socket and state file of the lab. Idempotent. */
  async down(options: { quiet?: boolean } = {}): Promise<void> {
    const say = (line: string) => {
      if (!options.quiet) this.#progress(line);
    };
    const owner = await readLabOwner();
    if (owner !== undefined && (owner.topology !== this.#settings.topologyName || owner.stateDir !== this.layout.stateDir)) {
      // Its namespaces share names with ours (wgts-internet, …): removing "ours" would break it.
      throw new Error(
        `the lab running here is topology ${owner.topology} (state dir ${owner.stateDir}), not ${this.#settings.topologyName} (${this.layout.stateDir}); ` +
          `\`wg-deploy down\` without --topology removes it`,
      );
    }
    const existing = await this.existingNamespaces();
    if (existing.length > 0) {
      for (const gateway of this.topology.gateways) {
        if (existing.includes(namespaceOf(this.layout, gateway.name))) {
          say(`${gateway.name}: stopping ${this.implementationFor(gateway.name).name}`);
          await this.stopTunnel(gateway.name).catch(() => undefined);
        }
      }
      const bin = postgresBinDir(this.#settings.io.env);
      for (const plan of this.plans.values()) {
        if (plan.services.some((s) => s.kind === "postgresql") && existing.includes(namespaceOf(this.layout, plan.node))) {
          say(`${plan.node}: stopping PostgreSQL`);
          await stopPostgres(namespaceOf(this.layout, plan.node), nodeDir(this.layout, plan.node), bin);
        }
      }
      for (const ns of existing) {
        const stopped = await stopNamespaceProcesses(ns);
        if (stopped > 0) say(`${ns}: stopped ${stopped} process(es)`);
      }
      for (const ns of existing) {
        say(`deleting namespace ${ns}`);
        await deleteNamespace(ns);
      }
    }
    for (const gateway of this.topology.gateways) await removeStaleSocket(labWireguardInterface(gateway));
    removeStateDir(this.layout.stateDir);
    say(existing.length > 0 ? "lab removed" : "nothing to remove");
  }

  // ---------------------------------------------------------------- operations

  /** `wg show` of every gateway. */
  async status(): Promise<string> {
    this.#ensureUp();
    const sections: string[] = [];
    for (const gateway of this.topology.gateways) {
      const ifname = this.plan(gateway.name).wireguard?.interfaceName ?? "";
      const names = new Map(Object.entries(this.secrets.keys).map(([node, pair]) => [pair.publicKey, node]));
      let body: string;
      try {
        body = (await runIn(namespaceOf(this.layout, gateway.name), ["wg", "show", ifname], { timeoutMs: 5000 })).stdout;
        // Name each peer after its gateway.
        body = body.replace(/^peer: (\S+)$/gm, (line, key: string) => `${line}  (${names.get(key) ?? "?"})`);
      } catch (error) {
        body = `  DOWN: ${(error as Error).message}\n`;
      }
      sections.push(`== ${gateway.name} (${gateway.overlayIp}, ${this.layout.publicIps.get(gateway.name) ?? "?"})\n${body}`);
    }
    return `${sections.join("\n")}`;
  }

  /** Runs a command on a node with its plan's commands (dbconnect, wg-stats.sh, …) on PATH. */
  async exec(node: string, argv: readonly string[]): Promise<number> {
    this.#ensureUp();
    const ns = namespaceOf(this.layout, node);
    const bins = ["/usr/local/bin"].map((dir) => labFilePath(this.layout, node, dir)).filter((dir) => existsSync(dir));
    const path = [...bins, process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"].join(":");
    return runInteractive(["ip", "netns", "exec", ns, "env", `PATH=${path}`, ...argv]);
  }

  /** The node directory of the database's PostgreSQL files (for diagnostics). */
  postgresDir(node: string): string {
    return postgresPaths(nodeDir(this.layout, node)).root;
  }
}

/** True if nobody listens on the UAPI socket of `ifname` (or it does not exist). */
function socketIsStale(ifname: string): Promise<boolean> {
  const path = join(UAPI_DIR, `${ifname}.sock`);
  if (!existsSync(path)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** Deletes the UAPI socket of `ifname` if nothing listens on it any more. */
async function removeStaleSocket(ifname: string): Promise<void> {
  const path = join(UAPI_DIR, `${ifname}.sock`);
  if (!existsSync(path) || !(await socketIsStale(ifname))) return;
  try {
    unlinkSync(path);
  } catch {
    // gone meanwhile
  }
}

/** Removes what the lab writes into its state dir, then the dir if empty (never anything else). */
function removeStateDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of ["nodes", "lab.json", "secrets.json"]) rmSync(join(dir, entry), { recursive: true, force: true });
  try {
    rmdirSync(dir);
  } catch {
    // not empty: someone else's files; leave them
  }
}
