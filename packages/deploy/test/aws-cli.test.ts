/**
 * `wg-deploy synth|up|down|output --target aws` through the real command table (`main`), with the
 * environment under the test's control: no AWS credentials, PATH without tofu/terraform, and a
 * stand-in `tofu` that records how it is called (no network, no cloud).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { awsCredentialSource } from "../src/aws/target.js";
import { cliScratch, fakeTofu, readSecrets, runCli as run } from "./support/terraform.js";

const CREDENTIALS = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };

const scratch = () => cliScratch("wg-ts-aws-cli-");

/** The stand-in tofu's `output -json`: the gateway's address and the (sensitive) remote wg-quick file. */
const OUTPUT_JSON = '{"public_ips":{"sensitive":false,"value":{"aws-gw":"15.236.10.20"}},"remote_wireguard_config":{"sensitive":true,"value":"[Interface] PrivateKey = x"}}';
const tofu = (dir: string) => fakeTofu(dir, OUTPUT_JSON);

describe("wg-deploy up/down/output --target aws: missing credentials or binary", () => {
  it("names the missing credentials and the missing binary, one sentence each, exit 1, nothing written", async () => {
    const { dir, emptyPath } = scratch();
    const result = await run(["up", "--target", "aws", "--topology", "aws-site-to-site"], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("no AWS credentials: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE");
    expect(result.stderr).toContain("neither `tofu` nor `terraform` is on PATH");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("names only the binary when credentials are there (env, profile, or the shared credentials file)", async () => {
    const { dir, emptyPath } = scratch();
    for (const env of [CREDENTIALS, { AWS_PROFILE: "ops" }]) {
      const result = await run(["down", "--target", "aws", "--topology", "aws-site-to-site"], { PATH: emptyPath, HOME: dir, ...env }, dir);
      expect(result.status).toBe(1);
      expect(result.stderr).not.toContain("credentials");
      expect(result.stderr).toMatch(/aws down: neither `tofu` nor `terraform` is on PATH/);
    }
    mkdirSync(join(dir, ".aws"));
    writeFileSync(join(dir, ".aws", "credentials"), "[default]\naws_access_key_id = x\naws_secret_access_key = y\n");
    expect(awsCredentialSource({ HOME: dir })).toBe(`default profile in ${join(dir, ".aws", "credentials")}`);
    expect(awsCredentialSource({ HOME: dir, AWS_ACCESS_KEY_ID: "only-half" })).toBe(`default profile in ${join(dir, ".aws", "credentials")}`);
    expect(awsCredentialSource({ HOME: join(dir, "nowhere"), AWS_ACCESS_KEY_ID: "only-half" })).toBeUndefined();
  });

  it("names only the credentials when a binary is on PATH, and never runs it", async () => {
    const { dir } = scratch();
    const { bin, log } = tofu(dir);
    const result = await run(["output", "--target", "aws", "--topology", "aws-site-to-site"], { PATH: bin, HOME: dir }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("aws output: no AWS credentials");
    expect(result.stderr).not.toContain("tofu");
    expect(existsSync(log)).toBe(false);
  });
});

describe("wg-deploy synth/up/down --target aws with a stand-in tofu", () => {
  it("synth writes main.tf.json (the committed snapshot), 0600 secrets with a key pair per gateway, the tarballs, offline", async () => {
    const { dir, emptyPath, artifact, runtime } = scratch();
    const out = join(dir, "tf");
    const result = await run(["synth", "--target", "aws", "--topology", "aws-site-to-site", "--out", out, "--artifact", artifact, "--node-runtime", runtime], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.stderr).toContain(`aws: wrote ${join(out, "main.tf.json")}`);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${join(out, "main.tf.json")}\n`);
    const snapshot = readFileSync(new URL("./__snapshots__/aws-site-to-site.main.tf.json", import.meta.url), "utf8");
    expect(readFileSync(join(out, "main.tf.json"), "utf8") === snapshot).toBe(true);
    expect(statSync(join(out, "wireguard.secrets.json")).mode & 0o777).toBe(0o600);
    expect(Object.keys(readSecrets(out).wireguard_private_keys).sort()).toEqual(["aws-gw", "customer-gw"]);
    expect(readFileSync(join(out, "wg-ts.tgz"), "utf8")).toBe(readFileSync(artifact, "utf8"));
    expect(existsSync(join(out, "node-runtime.tgz"))).toBe(true);
  });

  it("up writes the inputs, runs init then apply with the secrets file; output is redacted; down destroys", async () => {
    const { dir, artifact, runtime } = scratch();
    const { bin, log } = tofu(dir);
    const env = { PATH: bin, HOME: dir, ...CREDENTIALS };
    const common = ["--target", "aws", "--topology", "aws-site-to-site", "-o", "dir=deploy"];
    const up = await run(["up", ...common, "-o", `artifact=${artifact}`, "-o", `node_runtime=${runtime}`, "-o", "gateway_ip_address=198.51.100.7", "-o", 'egress_routes=["192.168.1.0/24"]'], env, dir);
    expect(up.stderr.includes("wg-deploy:"), up.stderr).toBe(false);
    expect(up.status).toBe(0);
    const work = join(dir, "deploy");
    expect(JSON.parse(readFileSync(join(work, "terraform.tfvars.json"), "utf8"))).toEqual({ gateway_ip_address: "198.51.100.7", egress_routes: ["192.168.1.0/24"] });
    const output = await run(["output", ...common], env, dir);
    expect(output.status).toBe(0);
    expect(output.stdout).toContain("remote_wireguard_config: (sensitive value)");
    expect(output.stdout).not.toContain("PrivateKey");
    const down = await run(["down", ...common], env, dir);
    expect(down.status).toBe(0);
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      `${work}: init -input=false`,
      `${work}: apply -input=false -auto-approve -var-file=wireguard.secrets.json`,
      `${work}: output -json`,
      `${work}: destroy -input=false -auto-approve -var-file=wireguard.secrets.json`,
    ]);
  });
});

describe("wg-deploy --target aws --topology scaleway-aws: one root module with both providers", () => {
  it("synth writes the combined main.tf.json (the committed snapshot) and keys for both gateways", async () => {
    const { dir, emptyPath, artifact, runtime } = scratch();
    const out = join(dir, "tf");
    const result = await run(["synth", "--target", "aws", "--topology", "scaleway-aws", "--out", out, "--artifact", artifact, "--node-runtime", runtime], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.status, result.stderr).toBe(0);
    const snapshot = readFileSync(new URL("./__snapshots__/scaleway-aws.main.tf.json", import.meta.url), "utf8");
    expect(readFileSync(join(out, "main.tf.json"), "utf8") === snapshot).toBe(true);
    expect(Object.keys(readSecrets(out).wireguard_private_keys).sort()).toEqual(["aws-gw", "vpn-gw"]);
  });

  it("up needs the Scaleway credentials too, named in the same single message", async () => {
    const { dir } = scratch();
    const { bin, log } = tofu(dir);
    const result = await run(["up", "--target", "aws", "--topology", "scaleway-aws"], { PATH: bin, HOME: dir, ...CREDENTIALS }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("aws up: missing Scaleway credentials: SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID");
    expect(existsSync(log)).toBe(false);
  });
});
