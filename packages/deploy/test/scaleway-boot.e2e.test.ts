/**
 * The first boot, for real (root, `pnpm build` first; ~3-4 minutes, plus ~2-4 minutes once to build
 * the cached rootfs): the three reference gateways boot, each in its own systemd-nspawn container
 * (Debian 12, systemd as PID 1, real cloud-init with NoCloud), from the EXACT user-data
 * `wg-deploy synth --target scaleway` writes into main.tf.json, with the Terraform interpolations
 * given the values apply would give them. Their uplinks share one "internet" bridge as in the lab
 * (203.0.113.0/24). Stand-ins (./support/boot.ts), only for what cannot exist here: the metadata
 * API (169.254.42.42, answering each gateway by its address), object storage (198.51.100.80: the
 * synthesized wg-ts.tgz and node-runtime.tgz; the runtime answers 503 twice per gateway first) and
 * the package mirror (a `file:` apt repository in the image).
 *
 * Proves: cloud-init `status: done` without errors; wg-ts running as the wg-ts@wg0 unit the
 * user-data installs (Node.js 24 from the bucket, no NodeSource); `wg show` over wg-ts' UAPI lists
 * handshakes with both other gateways; forwarding, NAT and the MSS clamp loaded; `systemctl restart`
 * and a `kill -9` of the daemon recovered by systemd with the tunnel back; `journalctl -u wg-ts@wg0`
 * carries the daemon's log and the journal no private key; a reboot comes back with the tunnel.
 * Risks of the first boot (packages/deploy/README.md "First boot"): spoke-02's second NIC appears
 * 30 s after wg-ts-network started (firewall and forwarding already on, the gateway ends up whole);
 * SSH-like TCP to spoke-01's public address is answered through its uplink (and, without the policy
 * rule, is not); the client finds its NIC without the metadata API and gets its default route.
 *
 * Not enforced in these containers (nothing here relies on them): device allow-lists, raised
 * rlimits. Set WG_TS_BOOT_KEEP=1 to keep the containers' root folders for a post-mortem.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { NODE_RUNTIME_FILE } from "../src/cloud/node-runtime.js";
import { hubSpokeTopology } from "../src/model/reference.js";
import { INSTANCE_PATHS } from "../src/scaleway/cloud-init.js";
import { cloudPlans } from "../src/cloud/plans.js";
import { tfName } from "../src/terraform/document.js";
import type { WireGuardSecrets } from "../src/terraform/secrets.js";
import {
  applyInterpolations,
  Container,
  expectCloudInitDone,
  expectDaemonLogWithoutKeys,
  expectRebootRecovers,
  expectRestartAndKillRecovered,
  expectWgTsUnitFromUserData,
  handshakesSince as handshakesWith,
  must,
  Netns,
  quote,
  requireHostTools,
  sh,
  sleep,
  startObjectStore,
  startProcess,
  synthesize,
  synthesizedDocument,
  tearDownBoot,
  unitProperties,
  userDataRootfs,
  waitFor,
} from "./support/boot.js";
import { keyInterpolation } from "./support/terraform.js";

const topology = hubSpokeTopology();
const plans = cloudPlans(topology);
const gateways = topology.gateways.map((g) => g.name);
const SHORT: Record<string, string> = { "wireguard-hub": "hub", "wireguard-spoke-01": "s01", "wireguard-spoke-02": "s02" };
const PUBLIC: Record<string, string> = { "wireguard-hub": "203.0.113.10", "wireguard-spoke-01": "203.0.113.11", "wireguard-spoke-02": "203.0.113.12" };
const ROUTER = "203.0.113.1";
/** An internet host that is not on the gateways' uplink subnet (replies to it follow their default route). */
const REMOTE = "198.51.100.1";
const OBJECT_STORE = "198.51.100.80";
const LATE_NODE = "wireguard-spoke-02";
const LATE_NETWORK = "pn-spoke-02-b";
const LATE_SECONDS = 30;
const RUNTIME_FAILURES = 2;
const work = mkdtempSync(join(tmpdir(), "wg-ts-boot-"));
const prefix = `wgtsboot${process.pid % 1000}`;
const log = (line: string) => process.stderr.write(`[boot] ${line}\n`);
const timings: Record<string, Record<string, number>> = {};

interface Nic {
  readonly network: string;
  readonly uuid: string;
  readonly device: string;
  readonly mac: string;
  readonly address: string;
}

const nicsOf = (node: string, k: number): Nic[] =>
  (plans.get(node)?.interfaces ?? []).map((i, n) => ({
    network: i.network,
    uuid: `6d1c0a7e-0000-4000-8000-0000000${k}${n}${"0".repeat(3)}`.slice(0, 36),
    device: `ens${5 + n}`,
    mac: `02:00:00:0${k}:0${n}:2a`,
    address: i.address,
  }));

let out = "";
let secrets: WireGuardSecrets;
let inet: Netns;
let lan: Netns;
const namespaces: Netns[] = [];
const containers = new Map<string, Container>();
const servers: { kill: () => void }[] = [];

/** The instance's user-data from main.tf.json, every interpolation given the value apply would give it here. */
function userData(node: string): string {
  const server = synthesizedDocument(out).resource["scaleway_instance_server"]?.[tfName(node)] as { user_data?: Record<string, string> } | undefined;
  const template = server?.user_data?.["cloud-init"];
  if (template === undefined) throw new Error(`no user-data for ${node} in main.tf.json`);
  const uuids = new Map(gateways.flatMap((g, k) => nicsOf(g, k).map((n) => [tfName(n.network), n.uuid] as const)));
  return applyInterpolations(out, template, node, (expression) => {
    let m: RegExpExecArray | null;
    const key = keyInterpolation(secrets, expression);
    if (key !== undefined) return key;
    if ((m = /^scaleway_instance_ip\.(\w+)_ip\.address$/.exec(expression))) {
      const gateway = gateways.find((g) => tfName(g) === m?.[1]);
      if (gateway) return PUBLIC[gateway] as string;
    }
    if (expression === "random_password.database.result") return "Sample-pass_4.2+xYz";
    if (/^scaleway_rdb_instance\.\w+\.private_network\.0\.ip$/.test(expression)) return "172.16.32.5";
    if (/^scaleway_vpc_public_gateway_ip\.\w+\.address$/.test(expression)) return "203.0.113.2";
    if (expression === "jsonencode(var.ssh_public_key)") return JSON.stringify("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBootTest operator@example");
    if ((m = /^element\(split\("\/", scaleway_vpc_private_network\.(\w+)\.id\), 1\)$/.exec(expression))) return uuids.get(m[1] as string) ?? "unknown-network";
    if ((m = /^"\$\{scaleway_object_bucket\.artifacts\.endpoint\}\/([\w.-]+)"$/.exec(expression))) return `http://${OBJECT_STORE}/${m[1]}`;
    return undefined;
  });
}

/** Metadata API stand-in: `/conf?format=json` with the private NICs of the instance asking (by source address). */
function metadataServer(): void {
  const byAddress = Object.fromEntries(
    gateways.map((g, k) => [PUBLIC[g], { hostname: g, private_nics: nicsOf(g, k).map((n) => ({ private_network_id: n.uuid, mac_address: n.mac.toUpperCase() })) }]),
  );
  const script = `
import http.server, json
CONF = json.loads(${JSON.stringify(JSON.stringify(byAddress))})
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        conf = CONF.get(self.client_address[0])
        ok = self.path == "/conf?format=json" and conf is not None
        self.send_response(200 if ok else 404); self.end_headers()
        if ok: self.wfile.write(json.dumps(conf).encode())
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("169.254.42.42", 80), H).serve_forever()
`;
  servers.push(startProcess("ip", ["netns", "exec", inet.name, "python3", "-c", script], join(work, "metadata.log")));
}

/** The gateway's namespace as fresh hardware: uplink addressed (the platform's DHCP), private NICs plugged in. */
function plugGateway(node: string, k: number, late: Set<string>): Netns {
  const ns = new Netns(`${prefix}-${SHORT[node]}`);
  namespaces.push(ns);
  const port = `u${SHORT[node]}`;
  must(`ip -n ${inet.name} link add ${port} type veth peer name up0 netns ${ns.name}`);
  must(`ip -n ${inet.name} link set ${port} master br0 up`);
  must(`ip -n ${ns.name} link set up0 address 02:00:00:0${k}:ff:01 up`);
  resetUplink(ns, node);
  for (const nic of nicsOf(node, k)) {
    const peer = `p${SHORT[node]}${nic.device}`;
    must(`ip -n ${lan.name} link add ${peer} type veth peer name ${nic.device} address ${nic.mac}`);
    must(`ip -n ${lan.name} link set ${peer} up`);
    if (!late.has(nic.network)) must(`ip -n ${lan.name} link set ${nic.device} netns ${ns.name}`);
  }
  return ns;
}

function resetUplink(ns: Netns, node: string): void {
  ns.must(`ip -4 address flush dev up0 && ip address add ${PUBLIC[node]}/24 dev up0 && ip route replace default via ${ROUTER} dev up0`);
}

/** Waits until `node` has a handshake newer than `since` (unix s) with every other gateway. */
const handshakesSince = (node: string, since: number, timeoutMs = 90_000): Promise<void> =>
  handshakesWith(
    containers.get(node) as Container,
    gateways.filter((g) => g !== node).map((g) => secrets.wireguard_public_keys[g] as string),
    since,
    timeoutMs,
  );

beforeAll(async () => {
  requireHostTools();
  const started = Date.now();
  // 1. wg-deploy synth, exactly as an operator runs it (packs the built workspace).
  out = join(work, "synth");
  secrets = synthesize("scaleway", out, [], log);
  // 2. The image: rootfs + mirror of every package the gateways' user-data installs.
  const rootfs = userDataRootfs(gateways.map((g) => plans.get(g)), log);
  timings["rootfs"] = { built: rootfs.built ? 1 : 0, seconds: rootfs.seconds };
  // 3. The networks and the stand-ins.
  inet = new Netns(`${prefix}-inet`);
  lan = new Netns(`${prefix}-lan`);
  namespaces.push(inet, lan);
  // The internet's router: the gateways reach each other's public addresses "via" it, as in a cloud.
  inet.must(`ip link add br0 type bridge && ip link set br0 up && ip address add ${ROUTER}/24 dev br0 && sysctl -q -w net.ipv4.ip_forward=1`);
  inet.must(`ip address add 169.254.42.42/32 dev lo && ip address add ${OBJECT_STORE}/32 dev lo && ip address add ${REMOTE}/32 dev lo`);
  metadataServer();
  servers.push(
    startObjectStore({ ns: inet, address: OBJECT_STORE, dir: out, logFile: join(work, "object-store.log"), failFirst: { file: NODE_RUNTIME_FILE, times: RUNTIME_FAILURES } }),
  );
  // 4. One container per gateway, booted in parallel.
  const boots = gateways.map(async (node, k) => {
    const ns = plugGateway(node, k, node === LATE_NODE ? new Set([LATE_NETWORK]) : new Set());
    const c = new Container(node, join(work, "containers", SHORT[node] as string), ns);
    containers.set(node, c);
    const t: Record<string, number> = {};
    t["unpack_s"] = c.prepare(rootfs.path, `instance-id: i-${SHORT[node]}-boot-test\nlocal-hostname: ${node}\n`, userData(node));
    const t0 = Date.now();
    c.start();
    if (node === LATE_NODE) {
      // Firewall and forwarding are on while wg-ts-network still waits for the second NIC.
      await waitFor(`${node}: wg-ts-network started`, () => (c.exec("nft list table inet wgts_filter").status === 0 ? true : undefined), 300_000, 500);
      t["firewall_loaded_s"] = (Date.now() - t0) / 1000;
      earlyState.set(node, {
        forwarding: c.exec("sysctl -n net.ipv4.ip_forward").stdout.trim(),
        lateNicPresent: c.exec(`ip link show ${nicsOf(node, k).find((n) => n.network === LATE_NETWORK)?.device}`).status === 0,
        networkUnit: c.exec("systemctl show -p ActiveState --value wg-ts-network").stdout.trim(),
      });
      await sleep(LATE_SECONDS * 1000);
      const late = nicsOf(node, k).find((n) => n.network === LATE_NETWORK) as Nic;
      must(`ip -n ${lan.name} link set ${late.device} netns ${ns.name}`);
      t["late_nic_plugged_s"] = (Date.now() - t0) / 1000;
    }
    timings[node] = { ...t, ...(await c.waitFirstBoot(t0)) };
  });
  await Promise.all(boots);
  timings["total"] = { setup_s: (Date.now() - started) / 1000 };
  log(`timings ${JSON.stringify(timings)}`);
}, 1_200_000);

const earlyState = new Map<string, { forwarding: string; lateNicPresent: boolean; networkUnit: string }>();

afterAll(async () => {
  log(`timings ${JSON.stringify(timings)}`);
  await tearDownBoot({ containers: [...containers.values()], servers, namespaces, work, log });
}, 120_000);

describe.each(gateways)("%s boots from its synthesized user-data", (node) => {
  const c = () => containers.get(node) as Container;

  it("cloud-init: status done, no errors", () => expectCloudInitDone(c()));

  it("runs wg-ts as the wg-ts@wg0 unit the user-data installed, on Node.js 24 from the bucket (no NodeSource)", () => {
    expectWgTsUnitFromUserData(c());
    // The runtime's download was refused twice by the stand-in and retried (curl --retry).
    const requests = readFileSync(join(work, "object-store.log"), "utf8").split("\n").filter((l) => l.startsWith(`${PUBLIC[node]} `) && l.includes(NODE_RUNTIME_FILE));
    expect(requests.filter((l) => l.includes(" 503 "))).toHaveLength(RUNTIME_FAILURES);
    expect(requests.filter((l) => l.includes(" 200 "))).toHaveLength(1);
  });

  it("wg show (UAPI of wg-ts) lists a handshake with both other gateways", async () => {
    await handshakesSince(node, 1);
    const dump = c().must("wg show wg0 dump");
    for (const peer of gateways.filter((g) => g !== node)) expect(dump).toContain(secrets.wireguard_public_keys[peer]);
    expect(c().must("wg show wg0 listen-port").trim()).toBe(String(topology.overlay.port));
  });

  it("forwarding, NAT and the MSS clamp are loaded; every private NIC carries its address", () => {
    const k = gateways.indexOf(node);
    expect(c().must("sysctl -n net.ipv4.ip_forward").trim()).toBe("1");
    const ruleset = c().must("nft list ruleset");
    expect(ruleset).toContain("table inet wgts_filter");
    expect(ruleset).toMatch(/hook forward/);
    expect(ruleset).toMatch(/tcp flags syn.*tcp option maxseg size set rt mtu/);
    const plan = plans.get(node);
    if (plan?.nftables?.includes("masquerade")) expect(ruleset).toContain("masquerade");
    for (const nic of nicsOf(node, k)) expect(c().must(`ip -4 -o address show dev ${nic.device}`)).toContain(`inet ${nic.address}`);
    expect(unitProperties(c(), "wg-ts-network", ["ActiveState", "Result"])).toEqual({ ActiveState: "active", Result: "success" });
  });
});

describe("systemd keeps the tunnel up", () => {
  it.each(gateways)("%s: systemctl restart, then kill -9 of the daemon: systemd restarts it, the tunnel comes back", async (node) => {
    await expectRestartAndKillRecovered(containers.get(node) as Container, (since) => handshakesSince(node, since));
  }, 240_000);

  it.each(gateways)("%s: journalctl -u wg-ts@wg0 carries the daemon's log, the journal no private key", (node) => {
    expectDaemonLogWithoutKeys(containers.get(node) as Container, Object.values(secrets.wireguard_private_keys));
  });
});

describe("first-boot risks, fixed", () => {
  it(`risk 1: ${LATE_NODE}'s ${LATE_NETWORK} NIC plugged ${LATE_SECONDS} s after wg-ts-network started: firewall and forwarding were already on, the gateway ends up whole`, () => {
    const early = earlyState.get(LATE_NODE);
    expect(early).toEqual({ forwarding: "1", lateNicPresent: false, networkUnit: "activating" });
    const c = containers.get(LATE_NODE) as Container;
    const k = gateways.indexOf(LATE_NODE);
    const late = nicsOf(LATE_NODE, k).find((n) => n.network === LATE_NETWORK) as Nic;
    expect(c.must(`ip -4 -o address show dev ${late.device}`)).toContain(`inet ${late.address}`);
    expect(c.must("journalctl -u wg-ts-network -o cat --no-pager")).toContain(`wg-ts-network: ${LATE_NETWORK} -> ${late.device} ${late.address} (found by metadata)`);
    expect(c.exec("cloud-init status").stdout).toMatch(/^status: done/m);
  });

  it(`risk 4: a TCP connection from an internet host (${REMOTE}) to spoke-01's public address (port 22) is answered through its uplink, not the tunnel`, async () => {
    const node = "wireguard-spoke-01";
    const c = containers.get(node) as Container;
    // A stand-in sshd: a banner on tcp/22 (sg-wireguard and the gateway's nftables allow tcp/22).
    c.must(`systemd-run --unit=banner22 python3 -c ${quote("import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 22)); s.listen()\nwhile True:\n  c, _ = s.accept(); c.sendall(b'SSH-2.0-stand-in\\r\\n'); c.close()")}`);
    await sleep(500);
    const connect = () =>
      inet.run(`python3 -c ${quote(`import socket; s = socket.create_connection(("${PUBLIC[node]}", 22), timeout=3, source_address=("${REMOTE}", 0)); print(s.recv(64).decode().strip())`)}`, { timeoutMs: 10_000 });
    expect(c.must("ip -4 route show 0.0.0.0/1")).toContain("dev wg0"); // the tunnel carries the default route
    expect(c.must("ip rule show")).toContain(`from ${PUBLIC[node]} lookup 51820`);
    expect(connect().stdout.trim()).toBe("SSH-2.0-stand-in");
    // Control: without the policy rule the reply goes into the tunnel and the connection fails.
    c.must("ip rule del priority 100");
    expect(connect().status).not.toBe(0);
    c.must("systemctl restart wg-ts-network");
    expect(connect().stdout.trim()).toBe("SSH-2.0-stand-in");
    c.exec("systemctl stop banner22");
  });

  it("risk 2: the client without the metadata API finds its NIC by subnet or as its only NIC, and sets its default route", () => {
    const client = topology.hosts.find((h) => h.kind === "client");
    expect(client).toBeDefined();
    const name = client?.name as string;
    const plan = plans.get(name);
    const data = parseYaml(userData(name)) as { write_files: { path: string; content: string }[] };
    const script = data.write_files.find((f) => f.path === INSTANCE_PATHS.networkScript)?.content as string;
    writeFileSync(join(work, "client-network.sh"), script);
    const address = plan?.interfaces[0]?.address as string;
    const via = plan?.routes.find((r) => r.to === "default")?.via;
    const gateway = via?.kind === "address" ? via.address : "?";
    for (const variant of ["only NIC, no address", "address from DHCP, a second device"] as const) {
      const ns = new Netns(`${prefix}-cli`);
      namespaces.push(ns);
      try {
        must(`ip -n ${lan.name} link add pcli type veth peer name ens5 netns ${ns.name}`);
        must(`ip -n ${lan.name} link set pcli up`);
        if (variant !== "only NIC, no address") {
          ns.must(`ip link set ens5 up && ip address add ${address.split("/")[0]}/${address.split("/")[1]} dev ens5`);
          must(`ip -n ${lan.name} link add pcli6 type veth peer name ens6 netns ${ns.name}`); // a second, unaddressed NIC
        }
        // No route anywhere: the metadata API cannot be reached (an Instance without public IPv4).
        const run = ns.run(`timeout 60 sh ${join(work, "client-network.sh")}`, { timeoutMs: 70_000 });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(run.stdout).toContain(`-> ens5 ${address} (found by ${variant === "only NIC, no address" ? "only-unaddressed-nic" : "subnet"})`);
        expect(ns.must("ip -4 route show default")).toContain(`default via ${gateway} dev ens5`);
      } finally {
        sh(`ip -n ${lan.name} link del pcli 2>/dev/null; ip -n ${lan.name} link del pcli6 2>/dev/null`);
        ns.remove();
      }
    }
  });
});

describe("a reboot", () => {
  it.each(gateways)("%s: comes back with firewall, forwarding, NICs and the tunnel, from systemd alone", async (node) => {
    const c = containers.get(node) as Container;
    const reboot = await expectRebootRecovers(c, { nics: nicsOf(node, gateways.indexOf(node)), uplink: () => resetUplink(c.ns, node), tunnelBack: (since) => handshakesSince(node, since) });
    Object.assign(timings[node] as Record<string, number>, reboot);
  }, 240_000);
});
