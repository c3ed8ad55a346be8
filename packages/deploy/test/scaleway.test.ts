/**
 * The Scaleway target, proved offline (no terraform/tofu here):
 * - main.tf.json against a JSON Schema per resource type transcribed from the provider docs, every
 *   `${...}` reference resolved, the validator itself shown to reject bad documents;
 * - the network numbers of docs/topology.md, no overlapping CIDRs, fixed IPs inside their subnet and
 *   outside Scaleway's reserved addresses, the platform facts (no default route pushed, no NAT on the
 *   Public Gateway, no public database endpoint, ≤ 8 attachments);
 * - no private key anywhere in main.tf.json or in a non-sensitive output;
 * - each instance's cloud-init, with Terraform's interpolations evaluated, passes Debian's
 *   `cloud-init schema` and writes byte for byte the files of the node plan (same render functions
 *   as the lab);
 * - a committed snapshot of main.tf.json (deterministic).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PrivateKey } from "@wg-ts/core";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { cidrContains, cidrsOverlap, parseCidr, parseIpv4 } from "../src/model/ipv4.js";
import { hubSpokeTopology } from "../src/model/reference.js";
import { planTopology } from "../src/plan/plan.js";
import type { NodePlan, Placeholder } from "../src/plan/types.js";
import { INSTANCE_PATHS, UPLINK_GATEWAY_COMMAND } from "../src/scaleway/cloud-init.js";
import { evaluateTemplate as evaluateWith } from "../src/terraform/evaluate.js";
import { completeSecrets, ensureSecretsFile, SECRETS_FILE } from "../src/terraform/secrets.js";
import { CLOUD_PLAN_OPTIONS, cloudPlans } from "../src/cloud/plans.js";
import { PROVIDERS, synthesizeScaleway } from "../src/scaleway/stack.js";
import { synthesizeValidated } from "../src/scaleway/synth.js";
import { formatDocument, tfName } from "../src/terraform/document.js";
import { checkReferences, interpolations, SchemaSet, validateDocument } from "../src/terraform/validate.js";
import { cloudInitSchema, expectPlanFilesWritten, type WriteFile } from "./support/cloud-init.js";
import { type Body, documentAccess } from "./support/terraform.js";

const topology = hubSpokeTopology();
const synthesis = synthesizeValidated(topology);
const doc = synthesis.document;
const schemas = new SchemaSet();

const { resources, body, clone } = documentAccess(doc);
/** `${type.name.attr}` -> [type, name]. */
const target = (reference: unknown): [string, string] => {
  const m = /^\$\{([a-z_]+)\.([a-z0-9_]+)\.[a-z_]+\}$/.exec(String(reference));
  if (!m) throw new Error(`not a plain reference: ${String(reference)}`);
  return [m[1] as string, m[2] as string];
};

describe("main.tf.json: provider-doc schemas and references", () => {
  it("has a schema for every resource type it uses, each citing the doc commit it was transcribed from", () => {
    const used = Object.keys(doc.resource).sort();
    expect(used.length).toBeGreaterThan(10);
    for (const type of used) {
      const schema = schemas.schema(type);
      expect(schema, type).toBeDefined();
      const source = schema?.["x-source"];
      expect(source?.commit, type).toMatch(/^[0-9a-f]{40}$/);
      expect(source?.path, type).toMatch(type.startsWith("random_") ? /^docs\/resources\/\w+\.md$/ : new RegExp(`^templates/resources/${type.replace(/^scaleway_/, "")}\\.md\\.tmpl$`));
    }
  });

  it("validates: document shape, every resource against its schema, every reference", () => {
    expect(validateDocument(doc, schemas)).toEqual([]);
  });

  it("pins the providers and a terraform/tofu version both accept", () => {
    expect(doc.terraform.required_providers).toEqual({ scaleway: PROVIDERS.scaleway, random: PROVIDERS.random });
    expect(doc.terraform.required_providers["scaleway"]?.version).toBe("~> 2.80");
    expect(doc.terraform.required_version).toBe(">= 1.5.0");
  });

  it("rejects unknown arguments, missing required arguments and wrong types (the validator can fail)", () => {
    const bad = clone();
    const nic = Object.values(bad.resource["scaleway_instance_private_nic"] ?? {})[0] as Body;
    nic["ipam_ip"] = "x"; // not an argument
    delete nic["server_id"]; // required
    const gatewayNetwork = Object.values(bad.resource["scaleway_vpc_gateway_network"] ?? {})[0] as Body;
    gatewayNetwork["enable_masquerade"] = "no"; // neither a bool nor an expression
    const problems = validateDocument(bad, schemas);
    expect(problems.some((p) => p.includes("scaleway_instance_private_nic") && p.includes('"additionalProperty":"ipam_ip"'))).toBe(true);
    expect(problems.some((p) => p.includes("scaleway_instance_private_nic") && p.includes('"missingProperty":"server_id"'))).toBe(true);
    expect(problems.some((p) => p.includes("scaleway_vpc_gateway_network") && p.includes("/enable_masquerade"))).toBe(true);
  });

  it("rejects references to undeclared variables, resources and attributes the schema does not export", () => {
    const bad = clone();
    const server = bad.resource["scaleway_instance_server"]?.["wireguard_hub"] as Body;
    server["name"] = "${var.nope}-${scaleway_vpc.nowhere.id}-${scaleway_instance_ip.wireguard_hub_ip.ipv4}-${local.x}-${data.scaleway_vpc.d.id}";
    const problems = checkReferences(bad, schemas);
    expect(problems).toHaveLength(5);
    expect(problems.join("\n")).toMatch(/undeclared local x/);
    expect(problems.join("\n")).toMatch(/data source scaleway_vpc\.d is not declared/);
    expect(problems.join("\n")).toMatch(/undeclared variable nope/);
    expect(problems.join("\n")).toMatch(/resource scaleway_vpc\.nowhere is not declared/);
    expect(problems.join("\n")).toMatch(/scaleway_instance_ip has no attribute "ipv4"/);
  });

  it("finds interpolations but not escaped ones, with nested braces and strings", () => {
    expect(interpolations('a $${literal} ${var.x} ${jsonencode({a = "}"})} ${"${b.c.d}/x"}')).toEqual([
      "var.x",
      'jsonencode({a = "}"})',
      '"${b.c.d}/x"',
    ]);
  });
});

describe("main.tf.json: the reference network and Scaleway's platform facts", () => {
  const subnets = new Map(resources("scaleway_vpc_private_network").map(([name, b]) => [name, (b["ipv4_subnet"] as { subnet: string }).subnet]));

  it("has the 3 VPCs and the 4 private networks of docs/topology.md", () => {
    expect(resources("scaleway_vpc").map(([, b]) => b["name"]).sort()).toEqual(["hub", "spoke-01", "spoke-02"]);
    const byName = Object.fromEntries(resources("scaleway_vpc_private_network").map(([, b]) => [b["name"], (b["ipv4_subnet"] as { subnet: string }).subnet]));
    expect(byName).toEqual({
      "pn-hub": "172.16.188.0/22",
      "pn-spoke-01": "172.16.32.0/22",
      "pn-spoke-02-a": "172.16.64.0/23",
      "pn-spoke-02-b": "172.16.66.0/23",
    });
    for (const [, pn] of resources("scaleway_vpc_private_network")) {
      const [, vpc] = target(pn["vpc_id"]);
      const vpcName = body("scaleway_vpc", vpc)["name"] as string;
      expect(String(pn["name"]).startsWith(`pn-${vpcName}`)).toBe(true);
    }
  });

  it("has no overlapping subnets (private networks and the overlay)", () => {
    const all = [...subnets.values(), topology.overlay.cidr];
    for (const [i, a] of all.entries()) for (const b of all.slice(i + 1)) expect(cidrsOverlap(a, b), `${a} vs ${b}`).toBe(false);
  });

  it("books every fixed private IP inside its subnet, outside the first two and last two addresses", () => {
    const fixed: { where: string; address: string; subnet: string }[] = resources("scaleway_ipam_ip").map(([name, b]) => {
      const [, pn] = target((b["source"] as { private_network_id: string }).private_network_id);
      return { where: `scaleway_ipam_ip.${name}`, address: b["address"] as string, subnet: subnets.get(pn) ?? "?" };
    });
    // 3 gateways (4 NICs: spoke-02 has two networks) + client + bastion on 4 networks.
    expect(fixed).toHaveLength(4 + 1 + 4);
    for (const { where, address, subnet } of fixed) {
      expect(cidrContains(subnet, address), `${where} ${address} in ${subnet}`).toBe(true);
      const prefix = parseCidr(subnet);
      const offset = parseIpv4(address) - prefix.network;
      const size = 2 ** (32 - prefix.length);
      expect(offset >= 2 && offset <= size - 3, `${where} ${address} is a reserved address of ${subnet}`).toBe(true);
    }
    expect(new Set(fixed.map((f) => f.address)).size).toBe(fixed.length);
  });

  it("attaches the bastion to every private network, without default route or masquerade, at most 8 times", () => {
    const gateways = resources("scaleway_vpc_public_gateway");
    expect(gateways).toHaveLength(1);
    const [bastionName, bastion] = gateways[0] as [string, Body];
    expect(bastion).toMatchObject({ type: "VPC-GW-S", bastion_enabled: true, bastion_port: 61000 });
    const attachments = resources("scaleway_vpc_gateway_network");
    expect(attachments.length).toBeLessThanOrEqual(8);
    expect(attachments.map(([, a]) => target(a["private_network_id"])[1]).sort()).toEqual([...subnets.keys()].sort());
    for (const [, a] of attachments) {
      expect(target(a["gateway_id"])).toEqual(["scaleway_vpc_public_gateway", bastionName]);
      expect(a["enable_masquerade"]).toBe(false);
      expect((a["ipam_config"] as { push_default_route: unknown }).push_default_route).toBe(false);
    }
  });

  it("runs three PLAY2-MICRO gateways with public IPs and the overlay addresses, the client in spoke-02 without one", () => {
    const servers = Object.fromEntries(resources("scaleway_instance_server").map(([name, b]) => [name, b]));
    for (const name of ["wireguard_hub", "wireguard_spoke_01", "wireguard_spoke_02"]) {
      expect(servers[name]).toMatchObject({ type: "PLAY2-MICRO", ip_id: `\${scaleway_instance_ip.${name}_ip.id}` });
    }
    expect(servers["postgres_client"]?.["ip_id"]).toBeUndefined();
    const nics = resources("scaleway_instance_private_nic").filter(([, n]) => target(n["server_id"])[1] === "postgres_client");
    expect(nics.map(([, n]) => target(n["private_network_id"])[1])).toEqual(["pn_spoke_02_a"]);
    expect(Object.keys(servers).sort()).toEqual(["postgres_client", "wireguard_hub", "wireguard_spoke_01", "wireguard_spoke_02"]);
    const overlay = (doc.output["wireguard_network"]?.value as { gateways: Record<string, string> }).gateways;
    expect(overlay).toEqual({ "wireguard-hub": "192.168.1.1", "wireguard-spoke-01": "192.168.1.2", "wireguard-spoke-02": "192.168.1.3" });
  });

  it("gives every NIC its booked IPAM address, booked before anything joins the network", () => {
    for (const [name, nic] of resources("scaleway_instance_private_nic")) {
      const ids = nic["ipam_ip_ids"] as string[];
      expect(ids, name).toHaveLength(1);
      const [, ip] = target(ids[0]);
      const ipBody = body("scaleway_ipam_ip", ip);
      expect(target((ipBody["source"] as { private_network_id: string }).private_network_id)).toEqual(target(nic["private_network_id"]));
      expect(nic["depends_on"]).toContain(`scaleway_ipam_ip.${ip}`);
    }
  });

  it("routes, in every VPC, the other sites' networks and the overlay to its WireGuard gateway's NIC", () => {
    const routes = resources("scaleway_vpc_route").map(([, r]) => ({
      vpc: body("scaleway_vpc", target(r["vpc_id"])[1])["name"] as string,
      destination: r["destination"] as string,
      via: target(r["nexthop_resource_id"]),
    }));
    for (const [, vpc] of resources("scaleway_vpc")) expect(vpc["enable_routing"]).toBe(true);
    const expected = {
      hub: ["172.16.32.0/22", "172.16.64.0/23", "172.16.66.0/23", "192.168.1.0/24"],
      "spoke-01": ["172.16.188.0/22", "172.16.64.0/23", "172.16.66.0/23", "192.168.1.0/24"],
      "spoke-02": ["172.16.188.0/22", "172.16.32.0/22", "192.168.1.0/24"],
    };
    for (const [vpc, destinations] of Object.entries(expected)) {
      const mine = routes.filter((r) => r.vpc === vpc);
      expect(mine.map((r) => r.destination).sort(), vpc).toEqual([...destinations].sort());
      for (const r of mine) {
        expect(r.via[0]).toBe("scaleway_instance_private_nic");
        const nic = body("scaleway_instance_private_nic", r.via[1]);
        const [, server] = target(nic["server_id"]);
        expect(server, `${vpc} -> ${r.destination}`).toBe(tfName(topology.gateways.find((g) => g.vpc === vpc)?.name ?? "?"));
      }
    }
    expect(routes).toHaveLength(11);
  });

  it("lets IPAM pick the database's address (no static ip_net), after the network's reservations; clients and the output read it back", () => {
    const [[, rdb]] = resources("scaleway_rdb_instance") as [[string, Body]];
    expect(rdb["private_network"]).toEqual({ pn_id: "${scaleway_vpc_private_network.pn_spoke_01.id}", enable_ipam: true });
    const booked = resources("scaleway_ipam_ip").filter(([, b]) => (b["source"] as { private_network_id: string }).private_network_id.includes("pn_spoke_01"));
    expect(booked.length).toBeGreaterThan(0);
    expect(rdb["depends_on"]).toEqual(booked.map(([name]) => `scaleway_ipam_ip.${name}`));
    const outputs = doc["output"] as Record<string, { value: Record<string, unknown> }>;
    expect(outputs["database_connection"]?.value["host"]).toBe("${scaleway_rdb_instance.rdb.private_network.0.ip}");
  });

  it("keeps the database private: no load_balancer block, an endpoint on spoke-01's network only", () => {
    const [[, rdb]] = resources("scaleway_rdb_instance") as [[string, Body]];
    expect(rdb).not.toHaveProperty("load_balancer");
    expect(target((rdb["private_network"] as { pn_id: string }).pn_id)).toEqual(["scaleway_vpc_private_network", "pn_spoke_01"]);
    expect(rdb).toMatchObject({ engine: "PostgreSQL-15", password: "${random_password.database.result}" });
  });

  it("has the seed's security groups (public traffic) with its rules", () => {
    const rules = (name: string) => (body("scaleway_instance_security_group", name)["inbound_rule"] as Body[]).map((r) => `${r["protocol"]}:${r["port"] ?? "*"}:${r["ip_range"] ?? "internet"}`);
    expect(rules("sg_wireguard")).toEqual(["TCP:22:internet", "UDP:${var.wireguard_port}:internet", "ANY:*:172.16.0.0/16", "ANY:*:192.168.1.0/24"]);
    expect(rules("sg_client")).toEqual(["TCP:22:internet", "ANY:*:172.16.0.0/16", "ANY:*:192.168.1.0/24"]);
    for (const [, sg] of resources("scaleway_instance_security_group")) expect(sg).toMatchObject({ inbound_default_policy: "drop" });
  });

  it("has the seed's inputs and outputs, the secret outputs sensitive", () => {
    expect(Object.keys(doc.variable).sort()).toEqual(["region", "ssh_public_key", "wireguard_mtu", "wireguard_port", "wireguard_private_keys", "wireguard_public_keys", "zone"]);
    expect(doc.variable["zone"]?.default).toBe("fr-par-1");
    expect(doc.variable["region"]?.default).toBe("fr-par");
    expect(doc.variable["wireguard_port"]?.default).toBe(52345);
    expect(doc.variable["wireguard_mtu"]?.default).toBe(1380);
    expect(doc.variable["wireguard_private_keys"]?.sensitive).toBe(true);
    expect(Object.keys(doc.output).sort()).toEqual(
      ["database_connection", "database_password", "public_ips", "ssh_commands", "vpn_subnets", "wireguard_network", "wireguard_status_commands"].sort(),
    );
    const sensitive = Object.entries(doc.output).filter(([, o]) => o.sensitive === true).map(([n]) => n).sort();
    expect(sensitive).toEqual(["database_connection", "database_password"]);
    expect((doc.output["ssh_commands"]?.value as Record<string, string>)["wireguard-hub"]).toBe(
      `ssh -J bastion@\${scaleway_vpc_public_gateway_ip.${tfName(topology.bastion.name)}_ip.address}:61000 root@172.16.188.10`,
    );
  });
});

describe("secrets: no private key in main.tf.json or a non-sensitive output", () => {
  const dir = mkdtempSync(join(tmpdir(), "wg-ts-scaleway-"));
  const secretsPath = join(dir, SECRETS_FILE);
  const publicKeys = ensureSecretsFile(secretsPath, topology.gateways.map((g) => g.name));
  const secrets = JSON.parse(readFileSync(secretsPath, "utf8")) as { wireguard_private_keys: Record<string, string> };
  const text = formatDocument(doc);

  it("writes the keys 0600, public keys derived from the private ones, and keeps them on the next run", () => {
    expect(statSync(secretsPath).mode & 0o777).toBe(0o600);
    for (const [gateway, privateKey] of Object.entries(secrets.wireguard_private_keys)) {
      expect(PrivateKey.fromBase64(privateKey).publicKey().toBase64()).toBe(publicKeys[gateway]);
    }
    expect(ensureSecretsFile(secretsPath, topology.gateways.map((g) => g.name))).toEqual(publicKeys);
  });

  it("main.tf.json holds no key at all: private keys come from a sensitive variable", () => {
    for (const key of [...Object.values(secrets.wireguard_private_keys), ...Object.values(publicKeys)]) expect(text.includes(key)).toBe(false);
    // No standalone 44-character base64 key (the NodeSource keyring, a longer base64 blob, is not one).
    expect(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])/.test(text)).toBe(false);
    for (const [node, userData] of synthesis.userData) {
      const lines = [...userData.matchAll(/PrivateKey = (.*)/g)].map((m) => m[1]);
      expect(lines, node).toEqual(node.startsWith("wireguard-") ? [`\${var.wireguard_private_keys["${node}"]}`] : []);
    }
  });

  it("no non-sensitive output refers to a private key or the password", () => {
    for (const [name, output] of Object.entries(doc.output)) {
      if (output.sensitive) continue;
      expect(JSON.stringify(output.value), name).not.toMatch(/wireguard_private_keys|random_password/);
    }
  });
});

// ---- cloud-init, with Terraform's interpolations evaluated as `terraform apply` would

const SAMPLE = {
  password: "Sample-pass_4.2+xYz",
  sshKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExample operator@example",
  publicIp: (node: string) => `51.15.${10 + topology.gateways.findIndex((g) => g.name === node)}.${7 + node.length}`,
  bastionIp: "51.158.0.61",
  networkUuid: (tf: string) => `00000000-0000-4000-8000-${tf.padStart(12, "0").slice(-12).replace(/[^0-9a-f]/g, "a")}`,
  endpoint: "https://wg-ts-hub-spoke-0a1b2c3d.s3.fr-par.scw.cloud",
  sha256: "ab".repeat(32),
  runtimeSha256: "cd".repeat(32),
  /** What IPAM would give the database endpoint (enable_ipam). */
  databaseAddress: "172.16.32.5",
};
let counter = 0;
const secretsSample = completeSecrets(topology.gateways.map((g) => g.name), undefined, (out) => out.fill(++counter));

/** The value a placeholder takes in the sample deployment (what the lab-style resolver gives). */
function sampleValue(placeholder: Placeholder): string {
  switch (placeholder.kind) {
    case "wireguard-private-key":
      return secretsSample.wireguard_private_keys[placeholder.node] ?? "?";
    case "wireguard-public-key":
      return secretsSample.wireguard_public_keys[placeholder.node] ?? "?";
    case "public-ip":
      return placeholder.node === topology.bastion.name ? SAMPLE.bastionIp : SAMPLE.publicIp(placeholder.node);
    case "database-password":
      return SAMPLE.password;
    case "database-address":
      return SAMPLE.databaseAddress;
    case "uplink-gateway":
      return UPLINK_GATEWAY_COMMAND;
    case "file-path":
      return placeholder.path;
  }
}

/** Evaluates one Terraform expression of the generated user-data from its text alone. */
function evaluate(expression: string): string {
  const nodeOfIp = new Map(topology.gateways.map((g) => [`${tfName(g.name)}_ip`, g.name]));
  let m: RegExpExecArray | null;
  if ((m = /^var\.wireguard_private_keys\["([^"]+)"\]$/.exec(expression))) return secretsSample.wireguard_private_keys[m[1] as string] ?? "";
  if ((m = /^var\.wireguard_public_keys\["([^"]+)"\]$/.exec(expression))) return secretsSample.wireguard_public_keys[m[1] as string] ?? "";
  if ((m = /^scaleway_instance_ip\.(\w+)\.address$/.exec(expression))) return SAMPLE.publicIp(nodeOfIp.get(m[1] as string) ?? "?");
  if (expression === `scaleway_vpc_public_gateway_ip.${tfName(topology.bastion.name)}_ip.address`) return SAMPLE.bastionIp;
  if (expression === "random_password.database.result") return SAMPLE.password;
  if (expression === "scaleway_rdb_instance.rdb.private_network.0.ip") return SAMPLE.databaseAddress;
  if (expression === "jsonencode(var.ssh_public_key)") return JSON.stringify(SAMPLE.sshKey);
  if ((m = /^element\(split\("\/", scaleway_vpc_private_network\.(\w+)\.id\), 1\)$/.exec(expression))) return SAMPLE.networkUuid(m[1] as string);
  if (expression === '"${scaleway_object_bucket.artifacts.endpoint}/wg-ts.tgz"') return `${SAMPLE.endpoint}/wg-ts.tgz`;
  if (expression === 'filesha256("${path.module}/wg-ts.tgz")') return SAMPLE.sha256;
  if (expression === '"${scaleway_object_bucket.artifacts.endpoint}/node-runtime.tgz"') return `${SAMPLE.endpoint}/node-runtime.tgz`;
  if (expression === 'filesha256("${path.module}/node-runtime.tgz")') return SAMPLE.runtimeSha256;
  throw new Error(`unexpected expression in user-data: ${expression}`);
}

/** A Terraform template string -> its value, as `apply` would produce it with the sample values. */
const evaluateTemplate = (template: string): string => evaluateWith(template, evaluate);

const plans = cloudPlans(topology);
const instances = [...synthesis.userData.keys()];

describe("cloud-init: the node plans, as the lab applies them", () => {
  it("is rendered for every Instance: the three gateways and the client", () => {
    expect(instances.sort()).toEqual(["postgres-client", "wireguard-hub", "wireguard-spoke-01", "wireguard-spoke-02"]);
    for (const name of instances) expect(body("scaleway_instance_server", tfName(name))["user_data"]).toEqual({ "cloud-init": synthesis.userData.get(name) });
  });

  it.each(instances)("%s: passes Debian's `cloud-init schema`", (name) => {
    const result = cloudInitSchema(name, evaluateTemplate(synthesis.userData.get(name) ?? ""));
    expect(result.error).toBeUndefined();
    expect(result.output).toContain(`Valid cloud-config: ${result.file}`);
    expect(result.status).toBe(0);
  });

  it("`cloud-init schema` rejects a broken document (the check can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-cloud-init-"));
    const file = join(dir, "broken.yaml");
    const broken = parseYaml(evaluateTemplate(synthesis.userData.get("wireguard-hub") ?? "")) as Record<string, unknown>;
    broken["runcmd"] = "systemctl start everything";
    broken["write_files"] = [{ path: "/x", permissions: 600, content: "x" }];
    writeFileSync(file, `#cloud-config\n${JSON.stringify(broken)}\n`);
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/runcmd/);
  });

  it.each(instances)("%s: writes exactly the plan's files, ruleset and sysctls (same render functions as the lab)", (name) => {
    const plan = plans.get(name) as NodePlan;
    const config = parseYaml(evaluateTemplate(synthesis.userData.get(name) ?? "")) as { write_files: WriteFile[]; hostname: string; ssh_authorized_keys: string[] };
    expect(config.hostname).toBe(plan.hostname);
    expect(config.ssh_authorized_keys).toEqual([SAMPLE.sshKey]);
    const written = new Map(config.write_files.map((f) => [f.path, f]));
    expect(plan.files.length).toBeGreaterThan(0);
    expectPlanFilesWritten(written, plan, sampleValue);
    if (plan.nftables !== undefined) expect(written.get(INSTANCE_PATHS.nftables)?.content).toBe(plan.nftables);
    const sysctls = Object.entries(plan.sysctls);
    if (sysctls.length > 0) expect(written.get(INSTANCE_PATHS.sysctl)?.content).toBe(sysctls.map(([k, v]) => `${k} = ${v}\n`).join(""));
    const network = written.get(INSTANCE_PATHS.networkScript)?.content ?? "";
    for (const i of plan.interfaces) expect(network).toContain(` ${i.address} ${i.network}\n`);
    for (const r of plan.routes) expect(network).toContain(`ip route replace ${String(r.to)} via ${r.via.kind === "address" ? r.via.address : "?"} || fail `);
  });

  it.each(instances)("%s: every shell script it writes parses (sh -n), the embedded Python compiles", (name) => {
    const config = parseYaml(evaluateTemplate(synthesis.userData.get(name) ?? "")) as { write_files: WriteFile[] };
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-scripts-"));
    const scripts = config.write_files.filter((f) => f.content.startsWith("#!/bin/sh\n"));
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const [i, script] of scripts.entries()) {
      const file = join(dir, `script-${i}.sh`);
      writeFileSync(file, script.content);
      const result = spawnSync("sh", ["-n", file], { encoding: "utf8" });
      expect(result.stderr, script.path).toBe("");
      expect(result.status, script.path).toBe(0);
    }
    const network = config.write_files.find((f) => f.path === INSTANCE_PATHS.networkScript)?.content ?? "";
    const python = /<<'PY'\n([\s\S]*?)\nPY\n/.exec(network)?.[1];
    expect(python).toContain("private_nics");
    const compiled = spawnSync("python3", ["-c", "import ast, sys; ast.parse(sys.stdin.read())"], { input: python, encoding: "utf8" });
    expect(compiled.stderr).toBe("");
    expect(compiled.status).toBe(0);
  });

  it("the gateways' wg-quick files carry MTU 1380, keepalive 25, port 52345 and the real peers' keys and endpoints", () => {
    const hub = parseYaml(evaluateTemplate(synthesis.userData.get("wireguard-hub") ?? "")) as { write_files: WriteFile[] };
    const conf = hub.write_files.find((f) => f.path === "/etc/wireguard/wg0.conf")?.content ?? "";
    expect(conf).toContain("MTU = 1380\n");
    expect(conf).toContain("ListenPort = 52345\n");
    expect(conf.match(/PersistentKeepalive = 25\n/g)).toHaveLength(2);
    expect(conf).toContain(`PrivateKey = ${secretsSample.wireguard_private_keys["wireguard-hub"]}\n`);
    expect(conf).toContain(`PublicKey = ${secretsSample.wireguard_public_keys["wireguard-spoke-01"]}\nEndpoint = ${SAMPLE.publicIp("wireguard-spoke-01")}:52345\n`);
  });

  it("installs Node.js 24 from the deployment's bucket (no NodeSource, no cloud-init packages:), and wg-ts from the artifact, on gateways only", () => {
    for (const name of instances) {
      const config = parseYaml(evaluateTemplate(synthesis.userData.get(name) ?? "")) as { packages?: unknown[]; package_update?: boolean; runcmd: string[][]; write_files: WriteFile[] };
      const isGateway = name.startsWith("wireguard-");
      expect(config.packages, name).toBeUndefined();
      expect(config.package_update, name).toBeUndefined();
      expect(config.write_files.some((f) => /nodesource|preferences\.d\/nodejs/.test(f.path)), name).toBe(false);
      expect(config.runcmd.some((c) => c.join(" ") === "systemctl enable --now wg-ts@wg0.service"), name).toBe(isGateway);
      const runtime = config.write_files.find((f) => f.path === INSTANCE_PATHS.nodeScript)?.content;
      if (isGateway) {
        expect(runtime).toContain(`URL='${SAMPLE.endpoint}/node-runtime.tgz'`);
        expect(runtime).toContain(`SHA256='${SAMPLE.runtimeSha256}'`);
        expect(runtime).toContain("--retry 30");
        expect(runtime).toContain("sha256sum -c -");
        const order = config.runcmd.map((c) => c.join(" "));
        expect(order.indexOf(INSTANCE_PATHS.nodeScript)).toBeLessThan(order.indexOf(INSTANCE_PATHS.installScript));
      } else {
        expect(runtime).toBeUndefined();
      }
      const install = config.write_files.find((f) => f.path === INSTANCE_PATHS.installScript)?.content;
      if (isGateway) {
        expect(install).toContain(`URL='${SAMPLE.endpoint}/wg-ts.tgz'`);
        expect(install).toContain(`SHA256='${SAMPLE.sha256}'`);
        expect(install).toContain('sha256sum -c -');
        expect(install).toContain('npm install --global --offline');
      } else {
        expect(install).toBeUndefined();
      }
    }
  });

  it("its plans are the lab's: the same planTopology, differing only in the device name and restart command", () => {
    const labLike = planTopology(topology, {
      wireguardInterfaceName: (g) => `wg-${g.shortName}`,
      restartTunnelCommand: ({ interfaceName }) => `lab-restart ${interfaceName}`,
    });
    for (const [name, cloud] of plans) {
      const lab = labLike.get(name);
      let normalized = JSON.stringify(lab);
      for (const g of topology.gateways) normalized = normalized.replaceAll(`lab-restart wg-${g.shortName}`, "systemctl restart wg-ts@wg0").replaceAll(`wg-${g.shortName}`, "wg0");
      expect(JSON.parse(normalized), name).toEqual(JSON.parse(JSON.stringify(cloud)));
    }
    expect(CLOUD_PLAN_OPTIONS.restartTunnelCommand({ name: "x", interfaceName: "wg0" })).toBe("systemctl restart wg-ts@wg0");
  });
});

describe("snapshot", () => {
  it("is deterministic (no random keys, names or timestamps)", () => {
    const again = synthesizeScaleway(hubSpokeTopology(), cloudPlans(hubSpokeTopology()));
    expect(formatDocument(again.document)).toBe(formatDocument(doc));
  });

  it("matches the committed main.tf.json", async () => {
    await expect(formatDocument(doc)).toMatchFileSnapshot("./__snapshots__/scaleway.main.tf.json");
  });
});
