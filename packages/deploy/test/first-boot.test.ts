/**
 * The first-boot fixes, on the rendered files (cloud/first-boot.ts, cloud/cloud-init.ts,
 * scaleway/stack.ts). Their behaviour under a real systemd and cloud-init is
 * scaleway-boot.e2e.test.ts; here: what the user-data says, and the package script run against a
 * stand-in apt-get.
 *
 * 1. wg-ts-network: firewall, then sysctls, then the NICs (waited for, never fatal), then the routes;
 *    its unit restarts it until it succeeds.
 * 2. The client's NIC lookup has fallbacks without the metadata API, and the default route is set.
 * 3. No NodeSource, no cloud-init `packages:`: wg-ts-packages retries apt, the WireGuard tools in
 *    their own run first; Node.js 24 from the deployment's bucket.
 * 4. Gateways route what leaves from their uplink address back out of the uplink.
 * 5. `public_gateways=per-vpc`: one Public Gateway per VPC.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ESSENTIAL_PACKAGES, NETWORK_RETRY_SECONDS, packageGroups, packagesScript, UPLINK_RULE_PRIORITY, UPLINK_TABLE } from "../src/cloud/first-boot.js";
import { hubSpokeTopology } from "../src/model/reference.js";
import { awsSiteToSiteTopology, scalewayAwsTopology } from "../src/topologies/index.js";
import { INSTANCE_PATHS } from "../src/scaleway/cloud-init.js";
import { synthesizeValidated } from "../src/scaleway/synth.js";
import { cloudPlans } from "../src/cloud/plans.js";
import { tfName } from "../src/terraform/document.js";
import { publicGatewayMode } from "../src/scaleway/target.js";
import { validateDocument } from "../src/terraform/validate.js";
import { literal } from "../src/terraform/document.js";
import { evaluateTemplate } from "../src/terraform/evaluate.js";

const topology = hubSpokeTopology();
const plans = cloudPlans(topology);
const synthesis = synthesizeValidated(topology);
const gateways = topology.gateways.map((g) => g.name);
const client = topology.hosts.find((h) => h.kind === "client")?.name as string;

interface Config {
  packages?: unknown;
  package_update?: unknown;
  runcmd: string[][];
  write_files: { path: string; content: string }[];
}

/** The user-data with every interpolation replaced by a placeholder word (only the shell matters here). */
function config(node: string): Config {
  return parseYaml(evaluateTemplate(synthesis.userData.get(node) ?? "", (e) => (e.startsWith("jsonencode(") ? '"ssh-ed25519 AAAA x"' : "VALUE"))) as Config;
}
const fileOf = (c: Config, path: string) => c.write_files.find((f) => f.path === path)?.content ?? "";
const lineOf = (text: string, pattern: RegExp) => text.split("\n").findIndex((l) => pattern.test(l));

describe("shell with ${ in it survives Terraform", () => {
  it("literal() escapes ${ and %{ (a string replacement would have turned $${ back into ${), and apply's evaluation restores them", () => {
    expect(literal('echo "${5:+x}" %{if}')).toBe('echo "$${5:+x}" %%{if}');
    expect(evaluateTemplate(literal('case "${1:-essential}" in'), () => "never")).toBe('case "${1:-essential}" in');
    const doc = JSON.stringify(synthesis.document);
    expect(doc).toContain("$2$${5:+ (found by $5)}");
  });
});

describe("risk 1: wg-ts-network applies firewall and sysctls first, waits for NICs without giving up the rest, and is retried", () => {
  it.each(gateways)("%s: nft, then sysctl, then the uplink, then attach; no `set -e`, no `exit` before the end", (node) => {
    const script = fileOf(config(node), INSTANCE_PATHS.networkScript);
    const nft = lineOf(script, /^if nft -f \/etc\/wg-ts\/nftables\.nft; then$/);
    const sysctl = lineOf(script, /^ {2}sysctl -q -p \/etc\/sysctl\.d\/60-wg-ts\.conf/);
    const policy = lineOf(script, /^ {4}ip rule add from "\$uplink_address"/);
    const firstAttach = lineOf(script, /^attach /);
    expect(nft).toBeGreaterThan(0);
    expect(sysctl).toBe(nft + 1); // forwarding only once the ruleset loaded
    expect(policy).toBeGreaterThan(sysctl);
    expect(firstAttach).toBeGreaterThan(policy);
    expect(script).not.toMatch(/^set -e/m);
    expect(script).toMatch(/^set -u$/m);
    expect(script.trimEnd().split("\n").at(-1)).toBe("exit $status");
    // Nothing but the last line exits the script (the python heredoc's sys.exit is its own process).
    const shell = script.replace(/<<'PY'\n[\s\S]*?\nPY\n/, "");
    const exits = shell.split("\n").filter((l) => !/^\s*#/.test(l) && /\bexit\b/.test(l.replace(/awk '[^']*'/g, "")));
    expect(exits).toEqual(["exit $status"]);
    const plan = plans.get(node);
    expect(script.match(/^attach /gm)).toHaveLength(plan?.interfaces.length ?? -1);
  });

  it.each(gateways)("%s: its unit restarts on failure with no start limit, before the tunnel", (node) => {
    const unit = fileOf(config(node), INSTANCE_PATHS.networkUnit);
    expect(unit).toContain("StartLimitIntervalSec=0\n");
    expect(unit).toContain("Restart=on-failure\n");
    expect(unit).toContain(`RestartSec=${NETWORK_RETRY_SECONDS}\n`);
    expect(unit).toMatch(/^Before=wg-ts@wg0\.service/m);
  });

  it("a missing NIC is waited for within one deadline, then reported, and the script goes on", () => {
    // Runs the rendered attach() with a find_nic that never finds anything and a 1 s deadline.
    const script = fileOf(config("wireguard-hub"), INSTANCE_PATHS.networkScript);
    const attach = /^nic_deadline=[\s\S]*?\n}\n/m.exec(script)?.[0] ?? "";
    expect(attach).toContain("attach()");
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-attach-"));
    const file = join(dir, "t.sh");
    writeFileSync(
      file,
      [
        "status=0",
        'fail() { echo "wg-ts-network: $*" >&2; status=1; }',
        "find_nic() { return 1; }",
        attach.replace(/\+ \d+ \)\)/, "+ 1 ))").replace("sleep 2", "sleep 0.2"),
        "attach UUID 172.16.188.10/22 pn-hub",
        'echo "went on"',
        "exit $status",
        "",
      ].join("\n"),
    );
    const r = spawnSync("sh", [file], { encoding: "utf8", timeout: 10_000 });
    expect(r.stdout).toBe("went on\n");
    expect(r.stderr).toContain("wg-ts-network: no NIC on private network pn-hub (UUID) yet; retried in");
    expect(r.status).toBe(1);
  });
});

describe("risk 2: the client finds its NIC without the metadata API and sets its default route", () => {
  it("falls back to the booked subnet, then to its only unaddressed NIC; the default route follows the attach", () => {
    const script = fileOf(config(client), INSTANCE_PATHS.networkScript);
    expect(script).toMatch(/^private_nics=1$/m);
    expect(script).toContain('print(link["ifname"], "subnet")');
    expect(script).toContain('print(candidates[0], "only-unaddressed-nic")');
    const plan = plans.get(client);
    const route = plan?.routes.find((r) => r.to === "default");
    const via = route?.via.kind === "address" ? route.via.address : "?";
    expect(lineOf(script, new RegExp(`^ip route replace default via ${via.replaceAll(".", "\\.")} \\|\\| fail `))).toBeGreaterThan(lineOf(script, /^attach /));
  });
});

describe("risk 3: packages retried, WireGuard tools first and alone; Node.js 24 from the deployment's bucket", () => {
  it.each([...gateways, client])("%s: no cloud-init packages:, no NodeSource; wg-ts-packages runs essential first and the rest last", (node) => {
    const c = config(node);
    expect(c.packages).toBeUndefined();
    expect(c.package_update).toBeUndefined();
    expect(c.write_files.map((f) => f.path).filter((p) => /nodesource|preferences\.d/.test(p))).toEqual([]);
    const order = c.runcmd.map((x) => x.join(" "));
    const essential = order.indexOf(`${INSTANCE_PATHS.packagesScript} essential`);
    const network = order.indexOf("systemctl enable --now wg-ts-network.service");
    expect(essential).toBeGreaterThan(0);
    if (plans.get(node)?.uplink) expect(essential).toBeLessThan(network); // nftables before the firewall loads
    else expect(essential).toBeGreaterThan(network); // the client's way out is the tunnel, via its boot route
    const other = order.indexOf(`${INSTANCE_PATHS.packagesScript} other`);
    if (other >= 0) expect(other).toBeGreaterThan(order.indexOf("systemctl enable --now wg-ts@wg0.service"));
    if (gateways.includes(node)) {
      expect(order.indexOf(INSTANCE_PATHS.nodeScript)).toBeLessThan(order.indexOf(INSTANCE_PATHS.installScript));
      expect(fileOf(c, INSTANCE_PATHS.nodeScript)).toMatch(/curl -fsSL --retry 30 [^\n]*--retry-all-errors/);
    }
  });

  it("groups a gateway's packages: the WireGuard/firewall tools together, every other package alone", () => {
    const groups = packageGroups([...(plans.get("wireguard-hub")?.packages ?? []), "curl", "ca-certificates", "dnsmasq-base"], true);
    expect(groups.essential.sort()).toEqual([...ESSENTIAL_PACKAGES].sort());
    expect(groups.other).toEqual(["iputils-ping", "dnsmasq-base"]);
    expect(packageGroups(["postgresql-client"], false)).toEqual({ essential: ["postgresql-client"], other: [] });
  });

  it("wg-ts-packages against a stand-in apt-get: a flaky mirror is retried, a missing package fails alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-packages-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const log = join(dir, "apt.log");
    // update fails twice (mirror unreachable); iputils-ping is not in the index.
    writeFileSync(
      join(bin, "apt-get"),
      `#!/bin/sh\necho "$*" >> ${log}\nn=$(grep -c '^update' ${log})\nif [ "$1" = update ] && [ "$n" -le 2 ]; then exit 100; fi\ncase "$*" in *iputils-ping*) exit 100;; esac\nexit 0\n`,
    );
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\nexit 0\n");
    for (const f of ["apt-get", "sleep"]) chmodSync(join(bin, f), 0o755);
    const script = join(dir, "wg-ts-packages");
    writeFileSync(script, packagesScript(packageGroups(["wireguard-tools", "nftables", "iproute2", "iputils-ping", "curl", "ca-certificates"], true), "test"));
    const env = { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const essential = spawnSync("sh", [script, "essential"], { encoding: "utf8", env });
    expect(essential.status).toBe(0);
    expect(essential.stderr).toContain("apt failed for wireguard-tools nftables iproute2 curl ca-certificates (attempt 2); retrying in 20 s");
    const installs = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("install"));
    expect(installs).toEqual(["install -y -q wireguard-tools nftables iproute2 curl ca-certificates"]);
    const other = spawnSync("sh", [script, "other"], { encoding: "utf8", env });
    expect(other.status).toBe(1);
    expect(other.stderr).toContain("wg-ts-packages: could not install iputils-ping (90 attempts)");
  });
});

describe("risk 4: source-based policy routing on every node with an uplink", () => {
  it.each([...gateways, client])("%s", (node) => {
    const script = fileOf(config(node), INSTANCE_PATHS.networkScript);
    const hasUplink = plans.get(node)?.uplink !== undefined;
    expect(script.includes(`ip rule add from "$uplink_address" lookup ${UPLINK_TABLE} priority ${UPLINK_RULE_PRIORITY}`)).toBe(hasUplink);
    if (hasUplink) expect(script).toContain(`ip route replace $route dev "$2" table ${UPLINK_TABLE}`);
  });
});

describe("risk 5: -o public_gateways=per-vpc renders one Public Gateway per VPC", () => {
  const perVpc = synthesizeValidated(topology, { publicGateways: "per-vpc" });
  const resources = (doc: typeof perVpc.document, type: string) => ((doc as { resource: Record<string, Record<string, Record<string, unknown>>> }).resource[type] ?? {}) as Record<string, Record<string, unknown>>;

  it("shared (default): one gateway attached to every VPC's networks; per-vpc: one per VPC, each attached to its own VPC's networks only", () => {
    expect(Object.keys(resources(synthesis.document, "scaleway_vpc_public_gateway"))).toEqual([tfName(topology.bastion.name)]);
    const gws = resources(perVpc.document, "scaleway_vpc_public_gateway");
    expect(Object.keys(gws).sort()).toEqual(topology.vpcs.map((v) => tfName(`${topology.bastion.name}-${v.name}`)).sort());
    expect(Object.keys(resources(perVpc.document, "scaleway_vpc_public_gateway_ip"))).toHaveLength(topology.vpcs.length);
    const attachments = resources(perVpc.document, "scaleway_vpc_gateway_network");
    expect(Object.keys(attachments)).toHaveLength(topology.bastion.attachments.length);
    for (const vpc of topology.vpcs) {
      for (const pn of vpc.privateNetworks) {
        const attachment = attachments[tfName(`${topology.bastion.name}-${pn.name}`)];
        expect(attachment?.["gateway_id"], pn.name).toBe(`\${scaleway_vpc_public_gateway.${tfName(`${topology.bastion.name}-${vpc.name}`)}.id}`);
        expect(attachment?.["enable_masquerade"]).toBe(false);
        expect((attachment?.["ipam_config"] as { push_default_route: boolean }).push_default_route).toBe(false);
      }
    }
    expect(validateDocument(perVpc.document)).toEqual([]);
  });

  it("ssh_commands jump through the instance's own VPC's bastion; public_ips names each bastion", () => {
    const outputs = (perVpc.document as { output: Record<string, { value: Record<string, string> }> }).output;
    const ip = (vpc: string) => `\${scaleway_vpc_public_gateway_ip.${tfName(`${topology.bastion.name}-${vpc}-ip`)}.address}`;
    expect(outputs["ssh_commands"]?.value["wireguard-spoke-02"]).toContain(`@${ip("spoke-02")}:${topology.bastion.sshPort}`);
    expect(outputs["ssh_commands"]?.value["postgres-client"]).toContain(`@${ip("spoke-02")}:`);
    expect(outputs["ssh_commands"]?.value["wireguard-hub"]).toContain(`@${ip("hub")}:`);
    expect(Object.keys(outputs["public_ips"]?.value ?? {})).toEqual(expect.arrayContaining(topology.vpcs.map((v) => `${topology.bastion.name}-${v.name}`)));
  });

  it("a topology the Scaleway target cannot build is refused with a clear error, not a crash", () => {
    expect(() => synthesizeValidated(awsSiteToSiteTopology())).toThrow("scaleway: topology aws-site-to-site has a VPC in AWS (VPCs: aws (aws), customer (external)): synthesize it with --target aws");
    expect(() => synthesizeValidated(awsSiteToSiteTopology(), { publicGateways: "per-vpc" })).toThrow("has a VPC in AWS");
    expect(() => synthesizeValidated(scalewayAwsTopology())).toThrow("scaleway: topology scaleway-aws has a VPC in AWS");
    const noBastion = { ...topology, bastion: { ...topology.bastion, attachments: [] } };
    expect(() => synthesizeValidated(noBastion, { publicGateways: "per-vpc" })).toThrow("bastion bastion is attached to no private network in Scaleway (public_gateways=per-vpc)");
  });

  it("the option takes shared or per-vpc only", () => {
    expect(publicGatewayMode(undefined)).toBe("shared");
    expect(publicGatewayMode("per-vpc")).toBe("per-vpc");
    expect(() => publicGatewayMode("two")).toThrow("expected shared or per-vpc");
  });
});
