/**
 * The AWS gateway's first boot, for real (root, `pnpm build` first; ~2 minutes, plus the cached
 * rootfs of ./scaleway-boot.e2e.test.ts, built once): preset aws-site-to-site's gateway `aws-gw`
 * boots in a systemd-nspawn container (Debian 12, systemd as PID 1, real cloud-init with NoCloud:
 * ./support/boot.ts) from the EXACT user-data `wg-deploy synth --target aws` writes into
 * main.tf.json, its Terraform interpolations given the values apply would give them. The customer's
 * gateway runs the `remote_wireguard_config` output with wg-quick + Debian's wireguard-go in a
 * namespace of the test, as a customer would.
 *
 * The VPC as the instance sees it, all in the test's own namespaces: the primary ENI on a public
 * subnet (172.31.0.10/20, what the VPC's DHCP hands out, default route via the VPC router .1); the
 * Elastic IP as the internet gateway's 1:1 NAT (203.0.113.10 <-> 172.31.0.10), associated only once
 * the instance runs: until then the internet gateway drops what the instance sends out; the second
 * ENI (Terraform knows its MAC) attached after wg-ts-network started, in the private subnet with an
 * instance of that subnet (aws-host, 172.31.128.20, its route table's egress route to the ENI).
 * Stand-ins only for what cannot exist here: S3 (HTTPS on 198.51.100.80 for the bucket's regional
 * name, through /etc/hosts — there is no DNS — with a test CA the image trusts; it serves only the
 * Elastic IP, as the bucket policy's aws:SourceIp does) and the package mirror (a `file:` apt
 * repository in the image). The user-data needs nothing from the instance metadata service (IMDS):
 * the ENI is found by the MAC address Terraform passes in, and NoCloud delivers the user-data that
 * the EC2 datasource would read from IMDS; nothing answers on 169.254.169.254 here.
 *
 * Proves: cloud-init `status: done` without errors; wg-ts running as the wg-ts@wg0 unit the user-data
 * installs (Node.js 24 and wg-ts.tgz from the bucket, fetched through the Elastic IP only); wg0 with
 * the plan's address, MTU, port, key, its one peer (the customer's key, endpoint and allowed IPs) and
 * the route to the customer's network; forwarding, the firewall and the MSS clamp loaded, the ENI
 * addressed (found by MAC through `ip -j link`, although it came late); a handshake with the
 * customer's wireguard-go and pings both ways between aws-host and the customer's network through
 * the gateway; downloads that waited for the Elastic IP; `systemctl restart` and `kill -9` of the
 * daemon recovered by systemd with the tunnel back; the daemon's log in the journal, no private key;
 * a reboot (the namespace reset to "fresh hardware") comes back with all of it.
 *
 * Not enforced in these containers (nothing here relies on them): device allow-lists, raised
 * rlimits. Like scaleway-boot it runs in `pnpm test` (e2e project) and in `pnpm test:boot`; it does
 * not skip: without the host tools it fails naming them (support/boot.ts requireHostTools). Set
 * WG_TS_BOOT_KEEP=1 to keep the container's root folder, WG_TS_BOOT_HOLD=1 to leave everything running.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudPlans } from "../src/cloud/plans.js";
import { NODE_RUNTIME_FILE } from "../src/cloud/node-runtime.js";
import type { WireGuardSecrets } from "../src/terraform/secrets.js";
import { AWS_SITE_TO_SITE_NETWORKS, awsSiteToSiteTopology } from "../src/topologies/aws-site-to-site.js";
import {
  applyInterpolations,
  Container,
  expectCloudInitDone,
  expectDaemonLogWithoutKeys,
  expectRebootRecovers,
  expectRestartAndKillRecovered,
  expectWgTsUnitFromUserData,
  handshakesSince,
  latestHandshakes,
  must,
  Netns,
  requireHostTools,
  sleep,
  startObjectStore,
  synthesize,
  synthesizedDocument,
  tearDownBoot,
  unitProperties,
  userDataRootfs,
  waitFor,
} from "./support/boot.js";

const topology = awsSiteToSiteTopology();
const plans = cloudPlans(topology);
const NODE = "aws-gw";
const CUSTOMER = "customer-gw";
const plan = plans.get(NODE);
/** The primary ENI on the public subnet (a default VPC's first /20), and the VPC router. */
const PRIMARY = { device: "ens5", mac: "0a:5e:00:00:00:0a", address: "172.31.0.10", prefix: 20, router: "172.31.0.1" };
/** The second ENI (aws_network_interface.aws_gw_private): Terraform passes its MAC into the user-data. */
const ENI = { device: "ens6", mac: "0a:5e:00:00:01:0a", address: plan?.interfaces[0]?.address ?? "?", network: plan?.interfaces[0]?.network ?? "?" };
const EIP = "203.0.113.10";
/** gateway_ip_address: the customer's public address. */
const CUSTOMER_PUBLIC = "192.0.2.20";
const CUSTOMER_ROUTER = "192.0.2.1";
const CUSTOMER_LAN = plans.get(CUSTOMER)?.interfaces[0]?.address ?? "?";
const CUSTOMER_HOST = plans.get("customer-host")?.interfaces[0]?.address ?? "?";
const AWS_HOST = plans.get("aws-host")?.interfaces[0]?.address ?? "?";
const OBJECT_STORE = "198.51.100.80";
const BUCKET_HOST = "wg-ts-boot-test-artifacts.s3.eu-west-3.amazonaws.com";
/** The second ENI is attached this long after wg-ts-network loaded the firewall. */
const ENI_LATE_SECONDS = 10;
/** The Elastic IP is associated once wg-ts-node has been trying to download for this long. */
const EIP_LATE_SECONDS = 12;
const work = mkdtempSync(join(tmpdir(), "wg-ts-aws-boot-"));
const prefix = `wgtsaws${process.pid % 1000}`;
/** The customer's interface: its own name (UAPI sockets in /var/run/wireguard are shared by every namespace). */
const CUSTOMER_IF = `wgc${process.pid % 100000}`;
const log = (line: string) => process.stderr.write(`[aws-boot] ${line}\n`);
const timings: Record<string, number> = {};

let out = "";
let secrets: WireGuardSecrets;
let inet: Netns;
let customer: Netns;
let host: Netns;
let customerHost: Netns;
let c: Container;
let customerConfig = "";
const namespaces: Netns[] = [];
const servers: { kill: () => void }[] = [];
const early: { forwarding?: string; eniPresent?: boolean; networkUnit?: string; nodeDownloading?: boolean; nodeInstalled?: boolean } = {};

/** aws-gw's user-data from main.tf.json, every interpolation given the value apply would give it here. */
function userData(): string {
  const template = (synthesizedDocument(out).resource["aws_instance"]?.["aws_gw"] as { user_data?: string } | undefined)?.user_data;
  if (template === undefined) throw new Error(`no user_data for ${NODE} in main.tf.json`);
  return applyInterpolations(out, template, NODE, (expression) => {
    let m: RegExpExecArray | null;
    if (expression === `var.wireguard_private_keys["${NODE}"]`) return secrets.wireguard_private_keys[NODE] as string;
    // var.remote_wireguard_public_key is null: the key pair wg-deploy generated for the customer.
    if (expression === "local.remote_wireguard_public_key") return secrets.wireguard_public_keys[CUSTOMER] as string;
    if (expression === "var.gateway_ip_address") return CUSTOMER_PUBLIC;
    if (expression === "aws_network_interface.aws_gw_private.mac_address") return ENI.mac;
    if ((m = /^"https:\/\/\$\{aws_s3_bucket\.artifacts\.bucket_regional_domain_name\}\/([\w.-]+)"$/.exec(expression))) return `https://${BUCKET_HOST}/${m[1]}`;
    return undefined;
  });
}

/** The `remote_wireguard_config` output (the customer's wg-quick file), evaluated; its device renamed. */
function remoteConfig(): string {
  const template = synthesizedDocument(out).output["remote_wireguard_config"]?.value;
  if (typeof template !== "string") throw new Error("no remote_wireguard_config output in main.tf.json");
  const text = applyInterpolations(out, template, "remote_wireguard_config", (expression) => {
    if (expression === "local.remote_wireguard_private_key") return secrets.wireguard_private_keys[CUSTOMER] as string;
    if (expression === `var.wireguard_public_keys["${NODE}"]`) return secrets.wireguard_public_keys[NODE] as string;
    if (expression === "aws_eip.aws_gw.public_ip") return EIP;
    return undefined;
  });
  return text.replaceAll("dev wg0", `dev ${CUSTOMER_IF}`);
}

/** What the VPC's DHCP gives the primary ENI of a real instance: its address and the VPC router as default route. */
function vpcDhcp(ns: Netns): void {
  ns.must(`ip -4 address flush dev ${PRIMARY.device} && ip address add ${PRIMARY.address}/${PRIMARY.prefix} dev ${PRIMARY.device} && ip route replace default via ${PRIMARY.router} dev ${PRIMARY.device}`);
}

/** A CA the image trusts and the S3 stand-in's certificate for BUCKET_HOST, signed by it. */
function testCertificates(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  must(`cd ${dir} && openssl req -x509 ${ec} -keyout ca.key -out ca.crt -days 2 -subj '/CN=wg-ts boot test CA' 2>/dev/null`);
  writeFileSync(join(dir, "san.ext"), `subjectAltName=DNS:${BUCKET_HOST}\n`);
  must(`cd ${dir} && openssl req ${ec} -keyout s3.key -out s3.csr -subj '/CN=${BUCKET_HOST}' 2>/dev/null`);
  must(`cd ${dir} && openssl x509 -req -in s3.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out s3.crt 2>/dev/null`);
  return { ca: join(dir, "ca.crt"), cert: join(dir, "s3.crt"), key: join(dir, "s3.key") };
}

/** The internet gateway: before the Elastic IP is associated it drops what the VPC sends out (no public address). */
function igwWithoutEip(): void {
  inet.must(`nft -f - <<'EOF'
table ip igw_no_eip {
  chain prerouting {
    type filter hook prerouting priority raw; policy accept;
    ip saddr 172.31.0.0/16 ip daddr != 172.31.0.0/16 drop
  }
}
EOF`);
}

/**
 * aws_eip_association: the 1:1 NAT EIP <-> the primary ENI's address (to the internet and to the
 * internet's own hosts; the route lets the internet's own replies to the EIP find the VPC before the
 * NAT rewrites them).
 */
function associateEip(): void {
  inet.must(`ip route add ${EIP}/32 dev vpc0`);
  inet.must(`nft -f - <<'EOF'
delete table ip igw_no_eip
table ip igw_eip {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${EIP} dnat to ${PRIMARY.address}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${PRIMARY.address} snat to ${EIP}
  }
  chain input {
    type nat hook input priority 100; policy accept;
    ip saddr ${PRIMARY.address} snat to ${EIP}
  }
}
EOF`);
}

/** wg-ts-node runs in the container (no procps in the image: /proc; the bracket keeps grep from finding itself). */
const wgTsNodeRunning = () => c.exec("grep -qs 'sbin/wg-ts-nod[e]' /proc/[0-9]*/cmdline").status === 0;

/** "172.31.128.20/20" -> "172.31.128.20". */
const address = (cidr: string) => cidr.split("/")[0] as string;

/** `count` pings (1 s each) from `ns` to `to`; true if any was answered. */
const ping = (ns: Netns, to: string, options: { count?: number } = {}) => ns.run(`ping -n -q -c ${options.count ?? 1} -W 1 ${to}`, { timeoutMs: 30_000 }).status === 0;

/** The tunnel is back after `since`: traffic from aws-host makes the gateway initiate; a handshake newer than `since`. */
async function tunnelBack(since: number): Promise<void> {
  const peer = secrets.wireguard_public_keys[CUSTOMER] as string;
  await waitFor(
    `${NODE}: a handshake with ${CUSTOMER} after ${since}`,
    () => {
      ping(host, address(CUSTOMER_HOST));
      return (latestHandshakes(c).get(peer) ?? 0) >= since ? true : undefined;
    },
    90_000,
    1000,
  );
}

beforeAll(async () => {
  requireHostTools({ openssl: "openssl", "wg-quick": "wireguard-tools", "wireguard-go": "wireguard-go" });
  const started = Date.now();
  // 1. wg-deploy synth --target aws, exactly as an operator runs it (packs the built workspace).
  out = join(work, "synth");
  secrets = synthesize("aws", out, ["--topology", topology.name], log);
  // 2. The image: rootfs + mirror of the packages the user-data installs (the same as scaleway-boot's).
  const rootfs = userDataRootfs([plan], log);
  timings["rootfs_built"] = rootfs.built ? rootfs.seconds : 0;
  const tls = testCertificates(join(work, "tls"));
  // 3. The VPC, the internet, the customer, aws-host; the stand-in for S3.
  inet = new Netns(`${prefix}-inet`);
  const gw = new Netns(`${prefix}-gw`);
  customer = new Netns(`${prefix}-cust`);
  host = new Netns(`${prefix}-host`);
  customerHost = new Netns(`${prefix}-chost`);
  namespaces.push(inet, gw, customer, host, customerHost);
  inet.must(`sysctl -q -w net.ipv4.ip_forward=1 && ip address add ${OBJECT_STORE}/32 dev lo`);
  must(`ip -n ${inet.name} link add vpc0 type veth peer name ${PRIMARY.device} netns ${gw.name}`);
  inet.must(`ip address add ${PRIMARY.router}/${PRIMARY.prefix} dev vpc0 && ip link set vpc0 up`);
  gw.must(`ip link set ${PRIMARY.device} address ${PRIMARY.mac} up`);
  vpcDhcp(gw);
  must(`ip -n ${inet.name} link add cust0 type veth peer name eth0 netns ${customer.name}`);
  inet.must(`ip address add ${CUSTOMER_ROUTER}/24 dev cust0 && ip link set cust0 up`);
  customer.must(`ip link set eth0 up && ip address add ${CUSTOMER_PUBLIC}/24 dev eth0 && ip route add default via ${CUSTOMER_ROUTER}`);
  // The customer's network behind its gateway: customer-host, default route via the gateway.
  must(`ip -n ${customer.name} link add lan0 type veth peer name eth0 netns ${customerHost.name}`);
  customer.must(`ip link set lan0 up && ip address add ${CUSTOMER_LAN} dev lan0 && sysctl -q -w net.ipv4.ip_forward=1`);
  customerHost.must(`ip link set eth0 up && ip address add ${CUSTOMER_HOST} dev eth0 && ip route add default via ${address(CUSTOMER_LAN)}`);
  // The second ENI, not attached yet: its other end is aws-host, whose route table sends the customer's network to it.
  must(`ip -n ${host.name} link add eth0 type veth peer name ${ENI.device} address ${ENI.mac}`);
  host.must(`ip link set eth0 up && ip address add ${AWS_HOST} dev eth0 && ip route add ${AWS_SITE_TO_SITE_NETWORKS.customer} via ${address(ENI.address)}`);
  igwWithoutEip();
  servers.push(startObjectStore({ ns: inet, address: OBJECT_STORE, dir: out, logFile: join(work, "object-store.log"), tls: { cert: tls.cert, key: tls.key }, allowFrom: [EIP] }));
  // 4. The instance boots.
  c = new Container(NODE, join(work, "container"), gw);
  timings["unpack_s"] = c.prepare(rootfs.path, `instance-id: i-0awsboottest\nlocal-hostname: ${NODE}\n`, userData(), (root) => {
    // S3's certificate is from a CA the image trusts, its name resolves without DNS.
    const ca = readFileSync(tls.ca, "utf8");
    mkdirSync(join(root, "usr/local/share/ca-certificates"), { recursive: true });
    writeFileSync(join(root, "usr/local/share/ca-certificates/wg-ts-boot-test-ca.crt"), ca);
    appendFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), ca);
    appendFileSync(join(root, "etc/hosts"), `${OBJECT_STORE} ${BUCKET_HOST}\n`);
  });
  const t0 = Date.now();
  c.start();
  await waitFor(`${NODE}: wg-ts-network loaded the firewall`, () => (c.exec("nft list table inet wgts_filter").status === 0 ? true : undefined), 300_000, 500);
  timings["firewall_loaded_s"] = (Date.now() - t0) / 1000;
  early.forwarding = c.exec("sysctl -n net.ipv4.ip_forward").stdout.trim();
  early.eniPresent = c.exec(`ip link show ${ENI.device}`).status === 0;
  early.networkUnit = c.exec("systemctl show -p ActiveState --value wg-ts-network").stdout.trim();
  await sleep(ENI_LATE_SECONDS * 1000);
  must(`ip -n ${host.name} link set ${ENI.device} netns ${gw.name}`); // aws_network_interface_attachment
  timings["eni_attached_s"] = (Date.now() - t0) / 1000;
  await waitFor(`${NODE}: wg-ts-node downloading`, () => (wgTsNodeRunning() ? true : undefined), 300_000, 500);
  await sleep(EIP_LATE_SECONDS * 1000);
  early.nodeDownloading = wgTsNodeRunning();
  early.nodeInstalled = c.exec("test -x /usr/local/bin/node").status === 0;
  associateEip();
  timings["eip_associated_s"] = (Date.now() - t0) / 1000;
  Object.assign(timings, await c.waitFirstBoot(t0));
  // 5. The customer brings its side up with the file the aws target outputs.
  customerConfig = remoteConfig();
  const file = join(work, `${CUSTOMER_IF}.conf`);
  writeFileSync(file, customerConfig, { mode: 0o600 });
  customer.must(`WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up ${file} </dev/null >${join(work, "customer-wg-quick.log")} 2>&1`);
  timings["setup_s"] = (Date.now() - started) / 1000;
  log(`timings ${JSON.stringify(timings)}`);
}, 1_200_000);

afterAll(async () => {
  log(`timings ${JSON.stringify(timings)}`);
  await tearDownBoot({
    containers: c ? [c] : [],
    servers,
    namespaces,
    work,
    log,
    before: () => void customer?.run(`wg-quick down ${join(work, `${CUSTOMER_IF}.conf`)} >/dev/null 2>&1`),
  });
}, 120_000);

describe(`${NODE} boots from the user-data \`wg-deploy synth --target aws\` renders`, () => {
  it("cloud-init: status done, no errors; the user-data asks nothing of the metadata service", () => {
    expectCloudInitDone(c);
    expect(userData()).not.toContain("169.254.169.254");
  });

  it("runs wg-ts as the wg-ts@wg0 unit the user-data installed, Node.js 24 and wg-ts from the bucket, fetched through the Elastic IP only", () => {
    expectWgTsUnitFromUserData(c);
    const requests = readFileSync(join(work, "object-store.log"), "utf8").split("\n").filter((l) => l.includes("GET /"));
    for (const file of [NODE_RUNTIME_FILE, "wg-ts.tgz"]) expect(requests.filter((l) => l.includes(`GET /${file} `) && l.includes(" 200 ")).map((l) => l.split(" ")[0])).toEqual([EIP]);
    expect(requests.every((l) => l.startsWith(`${EIP} `))).toBe(true);
  });

  it("wg0 has the plan's address, MTU and port, its key, one peer (the customer: key, endpoint, allowed IPs) and the route to the customer's network", () => {
    expect(c.must("ip -4 -o address show dev wg0")).toContain("inet 172.16.0.1/24");
    expect(c.must("ip -o link show dev wg0")).toMatch(/ mtu 1420 /);
    expect(c.must("wg show wg0 listen-port").trim()).toBe(String(topology.overlay.port));
    expect(c.must("wg show wg0 public-key").trim()).toBe(secrets.wireguard_public_keys[NODE]);
    const peers = c.must("wg show wg0 peers").trim().split("\n");
    expect(peers).toEqual([secrets.wireguard_public_keys[CUSTOMER]]);
    expect(c.must("wg show wg0 endpoints")).toContain(`\t${CUSTOMER_PUBLIC}:${topology.overlay.port}`);
    expect(c.must("wg show wg0 allowed-ips").trim().split("\t")[1]?.split(" ").sort()).toEqual(["172.16.0.2/32", "192.168.1.0/24"]);
    expect(c.must("ip -4 route show 192.168.1.0/24")).toMatch(/^192\.168\.1\.0\/24 dev wg0 /);
    expect(c.exec("wg show wg0 persistent-keepalive").stdout).toContain("\toff"); // the customer keeps the path open
  });

  it("forwarding, the firewall and the MSS clamp are loaded; the second ENI is addressed, found by MAC although it came late", () => {
    expect(early).toMatchObject({ forwarding: "1", eniPresent: false, networkUnit: "activating" });
    expect(c.must("sysctl -n net.ipv4.ip_forward").trim()).toBe("1");
    const ruleset = c.must("nft list ruleset");
    expect(ruleset).toContain("table inet wgts_filter");
    expect(ruleset).toMatch(/hook forward/);
    expect(ruleset).toMatch(/tcp flags syn.*tcp option maxseg size set rt mtu/);
    expect(c.must(`ip -4 -o address show dev ${ENI.device}`)).toContain(`inet ${ENI.address}`);
    expect(c.must("journalctl -u wg-ts-network -o cat --no-pager")).toContain(`wg-ts-network: ${ENI.network} -> ${ENI.device} ${ENI.address} (found by mac)`);
    expect(unitProperties(c, "wg-ts-network", ["ActiveState", "Result"])).toEqual({ ActiveState: "active", Result: "success" });
    // The uplink's own address answers through the uplink (policy routing), as on Scaleway.
    expect(c.must("ip rule show")).toContain(`from ${PRIMARY.address} lookup 51820`);
  });

  it("the downloads waited for the Elastic IP (associated after boot) and then succeeded", () => {
    expect(early).toMatchObject({ nodeDownloading: true, nodeInstalled: false });
    expect(c.must("journalctl -o cat --no-pager")).toMatch(new RegExp(`wg-ts-node: node v24\\S*, npm \\S+ in /usr/local from https://${BUCKET_HOST.replaceAll(".", "\\.")}/${NODE_RUNTIME_FILE}`));
  });

  it("a handshake with the customer's wireguard-go (the remote_wireguard_config output), then pings both ways between aws-host and customer-host through both gateways", async () => {
    expect(customerConfig).toContain(`Endpoint = ${EIP}:${topology.overlay.port}\n`);
    await handshakesSince(c, [secrets.wireguard_public_keys[CUSTOMER] as string], 1);
    expect(customer.must(`wg show ${CUSTOMER_IF} latest-handshakes`).trim().split("\t")[1]).not.toBe("0");
    const transfer = () => Number(c.must("wg show wg0 transfer").trim().split("\t")[1] ?? 0);
    const before = transfer();
    expect(ping(host, address(CUSTOMER_HOST), { count: 3 }), "aws-host -> customer-host").toBe(true);
    expect(ping(customerHost, address(AWS_HOST), { count: 3 }), "customer-host -> aws-host").toBe(true);
    expect(transfer()).toBeGreaterThan(before + 6 * 84); // the tunnel carried them (received bytes)
    // The customer reaches the gateway's overlay address too.
    expect(ping(customer, "172.16.0.1")).toBe(true);
  });
});

describe("systemd keeps the tunnel up", () => {
  it("systemctl restart, then kill -9 of the daemon: systemd restarts it, the tunnel comes back", async () => {
    await expectRestartAndKillRecovered(c, tunnelBack);
    expect(ping(host, address(CUSTOMER_HOST), { count: 2 })).toBe(true);
  }, 240_000);

  it("journalctl -u wg-ts@wg0 carries the daemon's log, the journal no private key", () => {
    expectDaemonLogWithoutKeys(c, Object.values(secrets.wireguard_private_keys));
  });
});

describe("a reboot", () => {
  it(`${NODE}: comes back with firewall, forwarding, the ENI and the tunnel, from systemd alone`, async () => {
    Object.assign(timings, await expectRebootRecovers(c, { nics: [ENI], uplink: () => vpcDhcp(c.ns), tunnelBack }));
    expect(ping(customerHost, address(AWS_HOST), { count: 2 })).toBe(true);
  }, 240_000);
});
