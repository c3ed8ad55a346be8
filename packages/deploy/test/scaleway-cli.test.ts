/**
 * `wg-deploy synth|up|down --target scaleway` through the real command table (`main`), with the
 * environment under the test's control: PATH without tofu/terraform, credentials missing, and a
 * stand-in `tofu` that records how it is called (no network, no cloud).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliScratch, fakeTofu as fakeTofuIn, readSecrets, runCli as run } from "./support/terraform.js";

const CREDENTIALS = { SCW_ACCESS_KEY: "SCWXXXXXXXXXXXXXXXXX", SCW_SECRET_KEY: "11111111-1111-1111-1111-111111111111", SCW_DEFAULT_PROJECT_ID: "22222222-2222-2222-2222-222222222222" };

/** A scratch dir (../support/terraform.ts cliScratch) with an SSH public key too. */
function scratch(): { dir: string; emptyPath: string; key: string; artifact: string; runtime: string } {
  const base = cliScratch("wg-ts-scaleway-cli-");
  const key = join(base.dir, "id.pub");
  writeFileSync(key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExample operator@example\n");
  return { ...base, key };
}

/** A `tofu` that appends its arguments to LOG and succeeds (`output -json` prints one output). */
const fakeTofu = (dir: string) => fakeTofuIn(dir, '{"vpn_subnets":{"sensitive":false,"value":{"hub":["172.16.188.0/22"]}},"public_ips":{"sensitive":false,"value":{"bastion":"51.158.0.61"}}}');

describe("wg-deploy up/down --target scaleway: missing binary or credentials", () => {
  it("fails with one message naming the missing credentials and the missing binary, and writes nothing", async () => {
    const { dir, emptyPath } = scratch();
    const result = await run(["up", "--target", "scaleway"], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing Scaleway credentials: SCW_ACCESS_KEY, SCW_SECRET_KEY, SCW_DEFAULT_PROJECT_ID");
    expect(result.stderr).toContain("neither `tofu` nor `terraform` is on PATH");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("names only the binary when the credentials are there", async () => {
    const { dir, emptyPath } = scratch();
    const result = await run(["down", "--target", "scaleway"], { PATH: emptyPath, HOME: dir, ...CREDENTIALS }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).not.toContain("credentials");
    expect(result.stderr).toMatch(/scaleway down: neither `tofu` nor `terraform` is on PATH/);
  });

  it("names only the missing credential when a binary is on PATH", async () => {
    const { dir } = scratch();
    const { bin, log } = fakeTofu(dir);
    const result = await run(["up", "--target", "scaleway"], { PATH: bin, HOME: dir, SCW_ACCESS_KEY: "x", SCW_SECRET_KEY: "y" }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("missing Scaleway credentials: SCW_DEFAULT_PROJECT_ID");
    expect(result.stderr).not.toContain("tofu");
    expect(existsSync(log)).toBe(false);
  });

  it("pnpm's `deploy -- --target scaleway` form reaches the same check", async () => {
    const { dir, emptyPath } = scratch();
    const result = await run(["up", "--", "--target", "scaleway"], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("scaleway up: missing Scaleway credentials");
  });
});

describe("wg-deploy synth/up/down --target scaleway with a stand-in tofu", () => {
  it("synth writes main.tf.json (the committed snapshot), 0600 secrets and the tarball, offline", async () => {
    const { dir, emptyPath, artifact, runtime } = scratch();
    const out = join(dir, "tf");
    const result = await run(["synth", "--target", "scaleway", "--out", out, "--artifact", artifact, "--node-runtime", runtime], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.stderr).toContain(`scaleway: wrote ${join(out, "main.tf.json")}`);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${join(out, "main.tf.json")}\n`);
    const snapshot = readFileSync(new URL("./__snapshots__/scaleway.main.tf.json", import.meta.url), "utf8");
    expect(readFileSync(join(out, "main.tf.json"), "utf8") === snapshot).toBe(true);
    expect(statSync(join(out, "wireguard.secrets.json")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, "wg-ts.tgz")).equals(readFileSync(artifact))).toBe(true);
    expect(readFileSync(join(out, "node-runtime.tgz")).equals(readFileSync(runtime))).toBe(true);
    expect(readFileSync(join(out, ".gitignore"), "utf8")).toContain("*");
  });

  it("synth refuses an --artifact or --node-runtime that is not a gzip tarball, before writing anything", async () => {
    const { dir, emptyPath, artifact, runtime } = scratch();
    const text = join(dir, "notes.txt");
    writeFileSync(text, "hello\n");
    const out = join(dir, "tf");
    const bad = await run(["synth", "--target", "scaleway", "--out", out, "--artifact", text, "--node-runtime", runtime], { PATH: emptyPath, HOME: dir }, dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`--artifact ${text}: not a gzip tarball (expected the wg-ts.tgz from \`wg-deploy pack\`)`);
    expect(existsSync(out)).toBe(false);
    const missing = await run(["synth", "--target", "scaleway", "--out", out, "--artifact", artifact, "--node-runtime", join(dir, "nope.tgz")], { PATH: emptyPath, HOME: dir }, dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`--node-runtime ${join(dir, "nope.tgz")}: ENOENT`);
    expect(existsSync(out)).toBe(false);
  });

  it("up runs init then apply with the secrets file in the work dir; down destroys; output reads terraform output", async () => {
    const { dir, key, artifact, runtime } = scratch();
    const { bin, log } = fakeTofu(dir);
    const env = { PATH: bin, HOME: dir, ...CREDENTIALS };
    const options = ["-o", "dir=deploy", "-o", `ssh_public_key_file=${key}`, "-o", `artifact=${artifact}`, "-o", `node_runtime=${runtime}`];
    const up = await run(["up", "--target", "scaleway", ...options], env, dir);
    expect(up.stderr.includes("wg-deploy:")).toBe(false);
    expect(up.status).toBe(0);
    const work = join(dir, "deploy");
    expect(readFileSync(log, "utf8")).toBe(`${work}: init -input=false\n${work}: apply -input=false -auto-approve -var-file=wireguard.secrets.json\n`);
    expect(JSON.parse(readFileSync(join(work, "terraform.tfvars.json"), "utf8"))).toEqual({ ssh_public_key: readFileSync(key, "utf8").trim() });
    expect(Object.keys(readSecrets(work).wireguard_private_keys).sort()).toEqual(["wireguard-hub", "wireguard-spoke-01", "wireguard-spoke-02"]);

    const output = await run(["output", "vpn_subnets", "--json", "--target", "scaleway", "-o", "dir=deploy"], env, dir);
    expect(output.status).toBe(0);
    expect(JSON.parse(output.stdout)).toEqual({ hub: ["172.16.188.0/22"] });

    const down = await run(["down", "--target", "scaleway", "-o", "dir=deploy"], env, dir);
    expect(down.status).toBe(0);
    expect(readFileSync(log, "utf8").trim().split("\n").at(-1)).toBe(`${work}: destroy -input=false -auto-approve -var-file=wireguard.secrets.json`);
  });

  it("down with nothing synthesized says so and calls nothing", async () => {
    const { dir } = scratch();
    const { bin, log } = fakeTofu(dir);
    const result = await run(["down", "--target", "scaleway", "-o", "dir=nothing-here"], { PATH: bin, HOME: dir, ...CREDENTIALS }, dir);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("nothing to destroy");
    expect(existsSync(log)).toBe(false);
  });

  it("synth refuses a target that has nothing to synthesize", async () => {
    const { dir, emptyPath } = scratch();
    const result = await run(["synth", "--target", "lab", "--out", join(dir, "x")], { PATH: emptyPath, HOME: dir }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("target lab has nothing to synthesize");
  });
});

describe("wg-deploy exec/restart/status --target scaleway: ssh through the bastion", () => {
  /** tofu + an ssh that logs its arguments and answers `wg show`. */
  function tools(dir: string): { env: Record<string, string>; sshLog: string } {
    const { bin } = fakeTofu(dir);
    const sshLog = join(dir, "ssh.log");
    writeFileSync(join(bin, "ssh"), `#!/bin/sh\necho "$*" >> '${sshLog}'\necho "interface: wg0"\nexit 0\n`);
    chmodSync(join(bin, "ssh"), 0o755);
    // What `up` leaves behind (the stand-in tofu answers `output` from there).
    mkdirSync(join(dir, "out", "scaleway", "hub-spoke"), { recursive: true });
    writeFileSync(join(dir, "out", "scaleway", "hub-spoke", "main.tf.json"), "{}\n");
    return { env: { PATH: bin, HOME: dir, ...CREDENTIALS }, sshLog };
  }

  it("exec jumps through bastion@<gateway ip>:61000 to root@<private address>, quoting the command", async () => {
    const { dir } = scratch();
    const { env, sshLog } = tools(dir);
    const result = await run(["exec", "--target", "scaleway", "postgres-client", "--", "dbconnect", "-c", "select 'ok'"], env, dir);
    expect(result.stderr).toBe("scaleway: tofu output -json\n".replace("tofu", join(dir, "fake-bin", "tofu")));
    expect(result.status).toBe(0);
    expect(readFileSync(sshLog, "utf8")).toBe(`-o StrictHostKeyChecking=accept-new -J bastion@51.158.0.61:61000 root@172.16.64.20 -- dbconnect -c 'select '"'"'ok'"'"''\n`);
  });

  it("restart restarts wg-ts@wg0 on the gateway; status shows each gateway's wg show", async () => {
    const { dir } = scratch();
    const { env, sshLog } = tools(dir);
    expect((await run(["restart", "--target", "scaleway", "wireguard-spoke-01"], env, dir)).status).toBe(0);
    expect(readFileSync(sshLog, "utf8")).toBe("-o StrictHostKeyChecking=accept-new -J bastion@51.158.0.61:61000 root@172.16.32.10 -- systemctl restart wg-ts@wg0\n");
    const status = await run(["status", "--target", "scaleway"], env, dir);
    expect(status.status).toBe(0);
    expect(status.stdout).toBe(
      "## wireguard-hub (172.16.188.10)\ninterface: wg0\n## wireguard-spoke-01 (172.16.32.10)\ninterface: wg0\n## wireguard-spoke-02 (172.16.64.10)\ninterface: wg0\n",
    );
  });

  it("says when nothing was deployed", async () => {
    const { dir } = scratch();
    const { bin } = fakeTofu(dir);
    const result = await run(["exec", "--target", "scaleway", "wireguard-hub", "--", "true"], { PATH: bin, HOME: dir, ...CREDENTIALS }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("nothing deployed from");
  });

  it("refuses nodes that are not Instances", async () => {
    const { dir } = scratch();
    const { env } = tools(dir);
    const result = await run(["exec", "--target", "scaleway", "rdb", "--", "true"], env, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('scaleway: "rdb" is not an Instance');
  });
});
