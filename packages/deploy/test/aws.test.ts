/**
 * The AWS target (`--target aws`, preset aws-site-to-site: seed 004 on WireGuard), proved offline
 * (no provider can be downloaded here, so no plan/apply):
 * - main.tf.json against a JSON Schema per resource type and data source, each transcribed from
 *   hashicorp/terraform-provider-aws `website/docs/{r,d}/<type>.html.markdown` (path + commit in the
 *   schema's x-source); every `${...}` reference resolved (variables, locals, resources, data
 *   sources and their attributes, count.index only under count); the validator shown to fail;
 * - seed 004's inputs (names, defaults, validation rules verbatim), `local.prefix`, Name tags, the
 *   private route table by its tag, the default VPC; the gateway, EIP, security group, routes;
 * - the seed's validation rules run by the real terraform binary (`terraform console` on the
 *   document's variables: it needs no provider) with the values the seed rejects and accepts;
 * - no key in main.tf.json or in a non-sensitive output; the remote side's wg-quick file only in a
 *   sensitive output, equal to the lab's file for that gateway;
 * - the gateway's user-data, interpolations evaluated, passes Debian's `cloud-init schema`, writes
 *   exactly its node plan's files, its scripts parse, and it fits EC2's 16 KiB user-data limit;
 * - a committed snapshot of main.tf.json.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { SEED_NAME_RULES } from "../src/aws/inputs.js";
import { AWS_PROVIDERS } from "../src/aws/site.js";
import { synthesizeAws } from "../src/aws/stack.js";
import { synthesizeAwsValidated } from "../src/aws/synth.js";
import { cloudPlans } from "../src/cloud/plans.js";
import { INSTANCE_PATHS, UPLINK_GATEWAY_COMMAND } from "../src/cloud/cloud-init.js";
import { buildTopology } from "../src/model/build.js";
import { renderTemplate } from "../src/plan/render.js";
import type { NodePlan, Placeholder } from "../src/plan/types.js";
import { awsSiteToSiteDescription, awsSiteToSiteTopology } from "../src/topologies/aws-site-to-site.js";
import { scalewayAwsTopology } from "../src/topologies/scaleway-aws.js";
import { formatDocument } from "../src/terraform/document.js";
import { evaluateTemplate as evaluateWith } from "../src/terraform/evaluate.js";
import { completeSecrets } from "../src/terraform/secrets.js";
import { checkReferences, SchemaSet, validateDocument } from "../src/terraform/validate.js";
import { cloudInitSchema, expectPlanFilesWritten, type WriteFile } from "./support/cloud-init.js";
import { type Body, documentAccess } from "./support/terraform.js";

const topology = awsSiteToSiteTopology();
const plans = cloudPlans(topology);
const synthesis = synthesizeAwsValidated(topology);
const doc = synthesis.document;
const schemas = new SchemaSet();

const { resources, body, clone } = documentAccess(doc);
const data = (type: string, name: string): Body => {
  const found = doc.data?.[type]?.[name] as Body | undefined;
  if (!found) throw new Error(`no data ${type}.${name}`);
  return found;
};

describe("main.tf.json: provider-doc schemas and references", () => {
  it("has a schema for every resource type and data source it uses, each citing the AWS provider doc page and commit", () => {
    const used = Object.keys(doc.resource).sort();
    expect(used).toEqual([
      "aws_eip",
      "aws_eip_association",
      "aws_instance",
      "aws_network_interface",
      "aws_network_interface_attachment",
      "aws_route",
      "aws_s3_bucket",
      "aws_s3_bucket_policy",
      "aws_s3_bucket_public_access_block",
      "aws_s3_object",
      "aws_security_group",
      "aws_vpc_security_group_egress_rule",
      "aws_vpc_security_group_ingress_rule",
    ]);
    for (const type of used) {
      const source = schemas.schema(type)?.["x-source"];
      expect(source?.repository, type).toBe("hashicorp/terraform-provider-aws");
      expect(source?.path, type).toBe(`website/docs/r/${type.replace(/^aws_/, "")}.html.markdown`);
      expect(source?.commit, type).toMatch(/^[0-9a-f]{40}$/);
    }
    const dataTypes = Object.keys(doc.data ?? {}).sort();
    expect(dataTypes).toEqual(["aws_ami", "aws_route_table", "aws_subnet", "aws_vpc"]);
    for (const type of dataTypes) {
      const source = schemas.dataSchema(type)?.["x-source"];
      expect(source?.path, type).toBe(`website/docs/d/${type.replace(/^aws_/, "")}.html.markdown`);
      expect(source?.commit, type).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it("validates: document shape, every resource and data source against its schema, every reference", () => {
    expect(validateDocument(doc, schemas)).toEqual([]);
  });

  it("pins hashicorp/aws to the current major and a terraform/tofu version both accept", () => {
    expect(doc.terraform.required_providers).toEqual({ aws: AWS_PROVIDERS.aws });
    expect(doc.terraform.required_providers["aws"]).toEqual({ source: "hashicorp/aws", version: "~> 6.0" });
    expect(doc.terraform.required_version).toBe(">= 1.5.0");
    expect(doc.provider["aws"]).toEqual({ region: "${var.aws_region}" });
  });

  it("rejects unknown arguments, missing required arguments, wrong types, bad data-source arguments (the validator can fail)", () => {
    const bad = clone();
    const route = bad.resource["aws_route"]?.["egress"] as Body;
    route["instance_id"] = "i-1"; // an attribute, not an argument
    delete route["route_table_id"]; // required
    (bad.resource["aws_instance"]?.["aws_gw"] as Body)["source_dest_check"] = "no";
    (bad.data?.["aws_ami"]?.["debian"] as Body)["owner"] = "136693071363"; // the argument is `owners`
    const problems = validateDocument(bad, schemas);
    expect(problems.some((p) => p.includes("aws_route.egress") && p.includes('"additionalProperty":"instance_id"'))).toBe(true);
    expect(problems.some((p) => p.includes("aws_route.egress") && p.includes('"missingProperty":"route_table_id"'))).toBe(true);
    expect(problems.some((p) => p.includes("aws_instance.aws_gw") && p.includes("/source_dest_check"))).toBe(true);
    expect(problems.some((p) => p.includes("data aws_ami.debian") && p.includes('"additionalProperty":"owner"'))).toBe(true);
  });

  it("rejects references to undeclared data sources, attributes they do not export, and count.index outside count", () => {
    const bad = clone();
    const eni = bad.resource["aws_network_interface"]?.["aws_gw_private"] as Body;
    eni["description"] = "${data.aws_vpc.nowhere.id} ${data.aws_subnet.private.mac} ${var.egress_routes[count.index]} ${aws_eip.aws_gw.ipv4}";
    const problems = checkReferences(bad, schemas).join("\n");
    expect(problems).toMatch(/data source aws_vpc\.nowhere is not declared/);
    expect(problems).toMatch(/data source aws_subnet has no attribute "mac"/);
    expect(problems).toMatch(/count\.index outside a block with count/);
    expect(problems).toMatch(/aws_eip has no attribute "ipv4"/);
  });
});

describe("main.tf.json: seed 004's network, on WireGuard", () => {
  it("keeps the seed's variables with its validation rules, local.prefix, and Name tags built from it", () => {
    for (const name of ["project_name", "environment", "vpn_name"] as const) {
      expect(doc.variable[name]?.validation, name).toEqual([{ condition: `\${${SEED_NAME_RULES[name].condition}}`, error_message: SEED_NAME_RULES[name].error_message }]);
    }
    expect(doc.locals?.["prefix"]).toBe("${var.project_name}-${var.environment}");
    expect(Object.keys(doc.variable)).toEqual(
      expect.arrayContaining(["project_name", "environment", "vpn_name", "gateway_ip_address", "egress_routes", "remote_wireguard_public_key", "ssh_cidr_blocks", "instance_type"]),
    );
    expect(doc.variable["egress_routes"]).toMatchObject({ type: "list(string)", default: ["192.168.1.0/24"] });
    expect(doc.variable["ssh_cidr_blocks"]?.default).toEqual([]);
    expect(doc.variable["gateway_ip_address"]?.default).toBeUndefined(); // the customer's address: always given
    for (const [type, byName] of Object.entries(doc.resource)) {
      for (const [name, b] of Object.entries(byName)) {
        const tags = b["tags"] as Record<string, string> | undefined;
        if (tags !== undefined) expect(tags["Name"], `${type}.${name}`).toMatch(/^\$\{local\.prefix\}-/);
      }
    }
  });

  it("selects the default VPC unless vpc_tags is given, the private route table by the seed's tag, the subnets by variable or tag", () => {
    expect(data("aws_vpc", "default")).toEqual({ default: "${length(var.vpc_tags) == 0 ? true : null}", tags: "${length(var.vpc_tags) == 0 ? null : var.vpc_tags}" });
    expect(data("aws_route_table", "private")).toEqual({ vpc_id: "${data.aws_vpc.default.id}", filter: [{ name: "tag:Name", values: ["${local.prefix}-private"] }] });
    for (const which of ["public", "private"]) {
      expect(data("aws_subnet", which)).toMatchObject({ id: `\${var.${which}_subnet_id}`, vpc_id: "${data.aws_vpc.default.id}" });
      expect(String(data("aws_subnet", which)["tags"])).toContain(`"\${local.prefix}-${which}"`);
    }
  });

  it("runs the gateway on Debian 12 x86_64, with an Elastic IP, source/dest check off, its second ENI in the private subnet", () => {
    expect(data("aws_ami", "debian")).toMatchObject({ owners: ["136693071363"], most_recent: true });
    expect(data("aws_ami", "debian")["filter"]).toContainEqual({ name: "name", values: ["debian-12-amd64-*"] });
    expect(data("aws_ami", "debian")["filter"]).toContainEqual({ name: "architecture", values: ["x86_64"] });
    const instance = body("aws_instance", "aws_gw");
    expect(instance).toMatchObject({
      ami: "${data.aws_ami.debian.id}",
      instance_type: "${var.instance_type}",
      subnet_id: "${data.aws_subnet.public.id}",
      source_dest_check: false,
      associate_public_ip_address: false,
      vpc_security_group_ids: ["${aws_security_group.aws_gw.id}"],
    });
    expect(doc.variable["instance_type"]?.default).toBe("t3.micro");
    expect(body("aws_eip_association", "aws_gw")).toEqual({ allocation_id: "${aws_eip.aws_gw.allocation_id}", network_interface_id: "${aws_instance.aws_gw.primary_network_interface_id}" });
    expect(body("aws_network_interface", "aws_gw_private")).toMatchObject({
      subnet_id: "${data.aws_subnet.private.id}",
      private_ips: ["172.31.128.10"],
      source_dest_check: false,
    });
    expect(body("aws_network_interface_attachment", "aws_gw_private")).toMatchObject({ device_index: 1, instance_id: "${aws_instance.aws_gw.id}" });
    // The model's numbers are checked against what AWS has before anything is created.
    expect(JSON.stringify(instance["lifecycle"])).toContain('data.aws_vpc.default.cidr_block == \\"172.31.0.0/16\\"');
    expect(JSON.stringify(body("aws_network_interface", "aws_gw_private")["lifecycle"])).toContain('data.aws_subnet.private.cidr_block == \\"172.31.128.0/20\\"');
  });

  it("security group: WireGuard only from the remote gateway's address, SSH only from ssh_cidr_blocks, everything from the VPC", () => {
    const rules: Body[] = resources("aws_vpc_security_group_ingress_rule").map(([name, r]) => ({ name, ...r }));
    expect(rules.map((r) => [r["ip_protocol"], r["from_port"] ?? "*", r["cidr_ipv4"], r["count"] ?? 1])).toEqual([
      ["tcp", 22, "${var.ssh_cidr_blocks[count.index]}", "${length(var.ssh_cidr_blocks)}"],
      ["-1", "*", "${data.aws_vpc.default.cidr_block}", 1],
      ["udp", "${var.wireguard_port}", "${var.gateway_ip_address}/32", 1],
    ]);
    expect(rules.every((r) => r["security_group_id"] === "${aws_security_group.aws_gw.id}")).toBe(true);
    expect(resources("aws_vpc_security_group_egress_rule")).toHaveLength(1);
  });

  it("routes every egress route of the private route table to the gateway's ENI — the lab host's routes (the route table's equivalent)", () => {
    expect(body("aws_route", "egress")).toEqual({
      count: "${length(var.egress_routes)}",
      route_table_id: "${data.aws_route_table.private.id}",
      destination_cidr_block: "${var.egress_routes[count.index]}",
      network_interface_id: "${aws_network_interface.aws_gw_private.id}",
    });
    const host = plans.get("aws-host") as NodePlan;
    expect(host.routes.map((r) => [r.to, r.via])).toEqual((doc.variable["egress_routes"]?.default as string[]).map((cidr) => [cidr, { kind: "address", address: "172.31.128.10" }]));
  });

  it("ships wg-ts and Node.js through a bucket that only the gateway's Elastic IP may read (Block Public Access on)", () => {
    expect(body("aws_s3_bucket_public_access_block", "artifacts")).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    const policy = JSON.parse(String(body("aws_s3_bucket_policy", "artifacts")["policy"])) as { Statement: Body[] };
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]).toMatchObject({ Effect: "Allow", Action: "s3:GetObject", Condition: { IpAddress: { "aws:SourceIp": "${aws_eip.aws_gw.public_ip}/32" } } });
    expect(resources("aws_s3_object").map(([, o]) => o["key"]).sort()).toEqual(["node-runtime.tgz", "wg-ts.tgz"]);
    expect(body("aws_instance", "aws_gw")["depends_on"]).toEqual(["aws_s3_object.wg_ts", "aws_s3_object.node_runtime", "aws_s3_bucket_policy.artifacts"]);
  });

  it("refuses a topology whose AWS gateway would need what the target does not build", () => {
    const twoNetworks = { ...awsSiteToSiteDescription, vpcs: { ...awsSiteToSiteDescription.vpcs, aws: { "aws-private": "172.31.128.0/20", "aws-b": "172.31.144.0/20" } } };
    expect(() => synthesizeAws(buildTopology(twoNetworks), cloudPlans(buildTopology(twoNetworks)))).toThrow(/exactly one private subnet/);
    expect(() => buildTopology({ ...awsSiteToSiteDescription, hosts: { ...awsSiteToSiteDescription.hosts, "aws-host": { kind: "client", network: "aws-private", hostIndex: 3, routesVia: "aws-gw" } } })).toThrow(
      /AWS reserves the first 4 addresses/,
    );
    expect(() => buildTopology({ ...awsSiteToSiteDescription, vpcs: { ...awsSiteToSiteDescription.vpcs, aws: { "aws-private": "10.9.0.0/24" } } })).toThrow(/not inside VPC aws/);
  });
});

// ---- the seed's validation rules, run by terraform itself (console needs no provider for variables)

const TERRAFORM = spawnSync("terraform", ["version"], { encoding: "utf8" }).status === 0;

/** A directory holding only the document's variables and locals: terraform console evaluates them without providers. */
function variablesOnly(): string {
  const dir = mkdtempSync(join(tmpdir(), "wg-ts-aws-vars-"));
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ variable: doc.variable, locals: { prefix: doc.locals?.["prefix"] } }, null, 2));
  return dir;
}

/** `terraform console` evaluating `expression` (a variable is validated when it is evaluated); console exits 0 even on errors. */
function consoleWith(dir: string, vars: Record<string, string>, expression: string): { ok: boolean; output: string } {
  const args = ["console", ...Object.entries({ gateway_ip_address: "198.51.100.7", ...vars }).flatMap(([k, v]) => ["-var", `${k}=${v}`])];
  const result = spawnSync("terraform", args, { cwd: dir, input: `${expression}\n`, encoding: "utf8", env: { ...process.env, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" }, timeout: 60_000 });
  const output = `${result.stdout}${result.stderr}`.replace(/\u001b\[[0-9;]*m/g, "");
  return { ok: result.status === 0 && !output.includes("Error:"), output };
}

// Skipped only where no terraform binary exists (none can be installed from the registries this project uses;
// the machine image here and CI's ship terraform 1.11.4): the same rules are also checked structurally above.
describe.skipIf(!TERRAFORM)("variable validations, evaluated by terraform (terraform console)", () => {
  const dir = variablesOnly();

  it("accepts the defaults and good values; local.prefix is project_name-environment", () => {
    const result = consoleWith(dir, {}, "local.prefix");
    expect(result.output).toContain('"wg-ts-test"');
    expect(result.ok).toBe(true);
    const good = { project_name: "acme-1234567", environment: "prod-eu", vpn_name: "client-a", egress_routes: '["192.168.1.0/24"]', ssh_cidr_blocks: '["203.0.113.7/32"]', instance_type: "c6i.large" };
    for (const name of ["project_name", "environment", "vpn_name", "egress_routes", "ssh_cidr_blocks", "instance_type", "gateway_ip_address", "remote_wireguard_public_key", "wireguard_port"]) {
      expect(consoleWith(dir, {}, `var.${name}`).ok, `default ${name}`).toBe(true);
      expect(consoleWith(dir, good, `var.${name}`).ok, `good ${name}`).toBe(true);
    }
    expect(consoleWith(dir, good, "local.prefix").output).toContain('"acme-1234567-prod-eu"');
  });

  it.each([
    ["project_name", "project_name_x", "The project tag must be no more than 12 characters"],
    ["project_name", "thirteen-char", "The project tag must be no more than 12 characters"],
    ["environment", "pré-prod", "The environment tag must be no more than 12 characters"],
    ["environment", "environment-x", "The environment tag must be no more than 12 characters"],
    ["vpn_name", "ab", "The vpn_name tag must be 3 to 20 characters long"],
    ["vpn_name", "a-customer-name-of-21", "The vpn_name tag must be 3 to 20 characters long"],
    ["vpn_name", "client.a", "The vpn_name tag must be 3 to 20 characters long"],
    ["egress_routes", '["10.0.0.0/8"]', "Each egress route must be one of 192.168.1.0/24"],
    ["egress_routes", "[]", "Each egress route must be one of 192.168.1.0/24"],
    ["gateway_ip_address", "vpn.example.com", "gateway_ip_address must be an IPv4 address"],
    ["ssh_cidr_blocks", '["0.0.0.0"]', "ssh_cidr_blocks must be IPv4 CIDRs"],
    ["instance_type", "t4g.micro", "instance_type must be an x86_64 type"],
    ["remote_wireguard_public_key", "not-a-key", "remote_wireguard_public_key must be a 44-character base64 WireGuard key"],
    ["wireguard_port", "51821", "wireguard_port must be 51820"],
  ])("rejects %s = %s as the seed does", (name, value, message) => {
    const result = consoleWith(dir, { [name]: value }, `var.${name}`);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("Invalid value for variable");
    expect(result.output.replace(/\s*│\s*/g, " ")).toContain(message);
  });
});

// ---- secrets

describe("secrets: no key in main.tf.json or in a non-sensitive output", () => {
  const text = formatDocument(doc);

  it("holds no WireGuard key: private keys from a sensitive variable, the remote's public key from a variable", () => {
    expect(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])/.test(text)).toBe(false);
    expect(doc.variable["wireguard_private_keys"]?.sensitive).toBe(true);
    const lines = [...(synthesis.userData.get("aws-gw") ?? "").matchAll(/PrivateKey = (.*)/g)].map((m) => m[1]);
    expect(lines).toEqual(['${var.wireguard_private_keys["aws-gw"]}']);
  });

  it("only sensitive outputs refer to a private key; the remote's wg-quick file is sensitive", () => {
    for (const [name, output] of Object.entries(doc.output)) {
      if (output.sensitive) continue;
      expect(JSON.stringify(output.value), name).not.toMatch(/private_key/);
    }
    expect(doc.output["remote_wireguard_config"]?.sensitive).toBe(true);
    expect(String(doc.output["remote_wireguard_config"]?.value)).toContain("PrivateKey = ${local.remote_wireguard_private_key}");
    expect(Object.keys(doc.output).sort()).toEqual(["egress_routes", "public_ips", "remote_wireguard_config", "ssh_commands", "vpn_subnets", "wireguard_network", "wireguard_public_key", "wireguard_status_commands"]);
    expect(doc.output["public_ips"]?.value).toEqual({ "aws-gw": "${aws_eip.aws_gw.public_ip}" });
    expect(doc.output["wireguard_public_key"]?.value).toBe('${var.wireguard_public_keys["aws-gw"]}');
  });
});

// ---- user-data and the remote's file, with Terraform's interpolations evaluated as apply would

let counter = 0;
const keys = completeSecrets(topology.gateways.map((g) => g.name), undefined, (out) => out.fill(++counter));
const SAMPLE = {
  eip: "15.236.10.20",
  customer: "198.51.100.7",
  mac: "0e:4b:7a:11:22:33",
  bucket: "wg-ts-wg-ts-test-20261206.s3.eu-west-3.amazonaws.com",
  sha256: (file: string) => (file.includes("wg-ts") ? "ab" : "cd").repeat(32),
};

function evaluate(expression: string): string {
  const m = /^filesha256\("\$\{path\.module\}\/([\w.-]+)"\)$/.exec(expression);
  if (m) return SAMPLE.sha256(m[1] as string);
  const url = /^"https:\/\/\$\{aws_s3_bucket\.artifacts\.bucket_regional_domain_name\}\/([\w.-]+)"$/.exec(expression);
  if (url) return `https://${SAMPLE.bucket}/${url[1]}`;
  switch (expression) {
    case 'var.wireguard_private_keys["aws-gw"]':
      return keys.wireguard_private_keys["aws-gw"] ?? "";
    case 'var.wireguard_public_keys["aws-gw"]':
      return keys.wireguard_public_keys["aws-gw"] ?? "";
    case "local.remote_wireguard_public_key":
      return keys.wireguard_public_keys["customer-gw"] ?? "";
    case "local.remote_wireguard_private_key":
      return keys.wireguard_private_keys["customer-gw"] ?? "";
    case "var.gateway_ip_address":
      return SAMPLE.customer;
    case "aws_eip.aws_gw.public_ip":
      return SAMPLE.eip;
    case "aws_network_interface.aws_gw_private.mac_address":
      return SAMPLE.mac;
  }
  throw new Error(`unexpected expression: ${expression}`);
}

/** What the lab's resolver gives, with the sample deployment's values. */
function sampleValue(placeholder: Placeholder): string {
  switch (placeholder.kind) {
    case "wireguard-private-key":
      return keys.wireguard_private_keys[placeholder.node] ?? "?";
    case "wireguard-public-key":
      return keys.wireguard_public_keys[placeholder.node] ?? "?";
    case "public-ip":
      return placeholder.node === "aws-gw" ? SAMPLE.eip : SAMPLE.customer;
    case "uplink-gateway":
      return UPLINK_GATEWAY_COMMAND;
    case "file-path":
      return placeholder.path;
    default:
      throw new Error(`no sample for ${placeholder.kind}`);
  }
}

const userData = evaluateWith(synthesis.userData.get("aws-gw") ?? "", evaluate);

describe("cloud-init of the gateway: its node plan, as the lab applies it", () => {
  const plan = plans.get("aws-gw") as NodePlan;
  const config = parseYaml(userData) as { write_files: WriteFile[]; hostname: string; runcmd: string[][]; ssh_authorized_keys?: unknown };

  it("is the instance's user_data and fits EC2's 16 KiB limit", () => {
    expect(body("aws_instance", "aws_gw")["user_data"]).toBe(synthesis.userData.get("aws-gw"));
    expect(Buffer.byteLength(userData)).toBeLessThan(16 * 1024);
  });

  it("passes Debian's `cloud-init schema`", () => {
    const result = cloudInitSchema("aws-gw", userData);
    expect(result.output).toContain(`Valid cloud-config: ${result.file}`);
    expect(result.status).toBe(0);
  });

  it("writes exactly the plan's files, ruleset (MSS clamp) and sysctls, with the same render function as the lab", () => {
    expect(config.hostname).toBe("aws-gw");
    expect(config.ssh_authorized_keys).toBeUndefined(); // EC2 key pair (ssh_key_name) instead
    const written = new Map(config.write_files.map((f) => [f.path, f]));
    expectPlanFilesWritten(written, plan, sampleValue);
    expect(written.get(INSTANCE_PATHS.nftables)?.content).toBe(plan.nftables);
    expect(plan.nftables).toContain("tcp flags syn tcp option maxseg size set rt mtu");
    expect(written.get(INSTANCE_PATHS.sysctl)?.content).toBe("net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.default.rp_filter = 0\n");
    const conf = written.get("/etc/wireguard/wg0.conf")?.content ?? "";
    expect(conf).toContain(`PublicKey = ${keys.wireguard_public_keys["customer-gw"]}\nEndpoint = ${SAMPLE.customer}:51820\nAllowedIPs = 172.16.0.2/32, 192.168.1.0/24\n`);
    expect(conf).toContain("PostUp = ip route replace 192.168.1.0/24 dev wg0\n");
    const network = written.get(INSTANCE_PATHS.networkScript)?.content ?? "";
    expect(network).toContain(`attach ${SAMPLE.mac} 172.31.128.10/20 aws-private\n`);
    const install = written.get(INSTANCE_PATHS.installScript)?.content ?? "";
    expect(install).toContain(`URL='https://${SAMPLE.bucket}/wg-ts.tgz'`);
    expect(install).toContain(`SHA256='${SAMPLE.sha256("wg-ts")}'`);
    expect(config.runcmd.some((c) => c.join(" ") === "systemctl enable --now wg-ts@wg0.service")).toBe(true);
  });

  it("every shell script it writes parses (sh -n); the NIC lookup finds a device by MAC", () => {
    const dir = mkdtempSync(join(tmpdir(), "wg-ts-aws-scripts-"));
    const scripts = config.write_files.filter((f) => f.content.startsWith("#!/bin/sh\n"));
    expect(scripts.length).toBeGreaterThanOrEqual(3);
    for (const [i, script] of scripts.entries()) {
      const file = join(dir, `script-${i}.sh`);
      writeFileSync(file, script.content);
      const result = spawnSync("sh", ["-n", file], { encoding: "utf8" });
      expect(result.stderr, script.path).toBe("");
    }
    const network = config.write_files.find((f) => f.path === INSTANCE_PATHS.networkScript)?.content ?? "";
    const findNic = /find_nic\(\) \{\n[\s\S]*?\n\}\n/.exec(network)?.[0] ?? "";
    // From netlink, not /sys/class/net (which shows the host's devices in a container: aws-boot.e2e).
    expect(findNic).toContain('"ip", "-j", "link", "show"');
    expect(findNic).not.toContain("/sys/class/net");
    const lo = spawnSync("sh", ["-c", `${findNic}find_nic "$(ip -j link show lo | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"].upper())')" 127.0.0.1/8`], { encoding: "utf8" });
    expect(lo.stdout.trim()).toBe("lo mac");
    expect(spawnSync("sh", ["-c", `${findNic}find_nic 02:00:5e:ff:ff:fe 127.0.0.1/8`]).status).toBe(1);
  });
});

describe("the remote side's wg-quick file (sensitive output)", () => {
  it("is the customer gateway's node-plan file — what the lab runs with wg-quick + wireguard-go", () => {
    const remote = evaluateWith(synthesis.remoteConfigs.get("customer-gw") ?? "", evaluate);
    const plan = plans.get("customer-gw") as NodePlan;
    const file = plan.files.find((f) => f.path === "/etc/wireguard/wg0.conf");
    expect(remote).toBe(renderTemplate(file?.content ?? [], sampleValue));
    expect(remote).toContain(`Endpoint = ${SAMPLE.eip}:51820\n`);
    expect(remote).toContain("PersistentKeepalive = 25\n");
    expect(remote).toContain("AllowedIPs = 172.16.0.1/32, 172.31.128.0/20\n");
    expect(doc.output["remote_wireguard_config"]?.value).toBe(synthesis.remoteConfigs.get("customer-gw"));
  });
});

describe("snapshot", () => {
  it("is deterministic", () => {
    const again = synthesizeAws(awsSiteToSiteTopology(), cloudPlans(awsSiteToSiteTopology()));
    expect(formatDocument(again.document)).toBe(formatDocument(doc));
  });

  it("matches the committed main.tf.json", async () => {
    await expect(formatDocument(doc)).toMatchFileSnapshot("./__snapshots__/aws-site-to-site.main.tf.json");
  });
});

// ---- preset scaleway-aws: both ends ours, one root module, peers wired by references

describe("scaleway-aws: seed 001's Scaleway VPC and the AWS VPC in one root module", () => {
  const combinedTopology = scalewayAwsTopology();
  const combined = synthesizeAwsValidated(combinedTopology); // throws listing every problem
  const cdoc = combined.document;
  const c = documentAccess(cdoc);

  it("validates with both providers pinned, each side built by its own provider", () => {
    expect(validateDocument(cdoc, schemas)).toEqual([]);
    expect(cdoc.terraform.required_providers).toEqual({ aws: AWS_PROVIDERS.aws, scaleway: { source: "scaleway/scaleway", version: "~> 2.80" }, random: { source: "hashicorp/random", version: "~> 3.6" } });
    expect(c.resources("scaleway_instance_server").map(([n]) => n).sort()).toEqual(["test_instance", "vpn_gw"]);
    expect(c.resources("aws_instance").map(([n]) => n)).toEqual(["aws_gw"]);
    expect(c.resources("scaleway_vpc").map(([, b]) => b["name"])).toEqual(["scaleway"]);
    expect(cdoc.variable["egress_routes"]?.default).toEqual(["192.168.0.0/24"]);
    expect(Object.keys(cdoc.variable)).not.toContain("gateway_ip_address"); // no customer: both ends are ours
  });

  it("wires each gateway's endpoint and public key by Terraform references, both ways", () => {
    const scw = String((c.body("scaleway_instance_server", "vpn_gw")["user_data"] as Record<string, string>)["cloud-init"]);
    const ec2 = String(c.body("aws_instance", "aws_gw")["user_data"]);
    expect(scw).toContain('PublicKey = ${var.wireguard_public_keys["aws-gw"]}\n      Endpoint = ${aws_eip.aws_gw.public_ip}:52435\n      AllowedIPs = 172.16.0.2/32, 172.31.128.0/20\n');
    expect(ec2).toContain('PublicKey = ${var.wireguard_public_keys["vpn-gw"]}\n');
    expect(ec2).toContain("Endpoint = ${scaleway_instance_ip.vpn_gw_ip.address}:52435\n");
    expect(c.body("aws_vpc_security_group_ingress_rule", "aws_gw_wireguard_from_vpn_gw")["cidr_ipv4"]).toBe("${scaleway_instance_ip.vpn_gw_ip.address}/32");
    expect((cdoc.output["public_ips"]?.value as Record<string, string>)["aws-gw"]).toBe("${aws_eip.aws_gw.public_ip}");
    expect(cdoc.variable["wireguard_private_keys"]?.validation?.[0]?.condition).toContain('["vpn-gw", "aws-gw"]');
  });

  it("routes the AWS network from the Scaleway VPC (VPC route + DHCP option 121) and the Scaleway network from the private route table", () => {
    const route = c.resources("scaleway_vpc_route").find(([, r]) => r["destination"] === "172.31.128.0/20")?.[1];
    expect(route?.["nexthop_resource_id"]).toBe("${scaleway_instance_private_nic.vpn_gw_pn_vpc.id}");
    const plans = cloudPlans(combinedTopology);
    expect(plans.get("test-instance")?.interfaces[0]?.dhcp?.routes.map((r) => r.to)).toEqual(["172.31.128.0/20", "default"]);
    expect(plans.get("aws-host")?.routes.map((r) => [r.to, r.via])).toEqual([["192.168.0.0/24", { kind: "address", address: "172.31.128.10" }]]);
    expect(c.body("aws_route", "egress")["network_interface_id"]).toBe("${aws_network_interface.aws_gw_private.id}");
  });

  it("holds no key; no non-sensitive output refers to a private key", () => {
    expect(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=(?![A-Za-z0-9+/=])/.test(formatDocument(cdoc))).toBe(false);
    for (const [name, output] of Object.entries(cdoc.output)) if (!output.sensitive) expect(JSON.stringify(output.value), name).not.toMatch(/private_key|random_password/);
  });

  it("matches the committed main.tf.json", async () => {
    await expect(formatDocument(cdoc)).toMatchFileSnapshot("./__snapshots__/scaleway-aws.main.tf.json");
  });
});
