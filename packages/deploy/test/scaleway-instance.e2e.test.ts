/**
 * The first boot of a Scaleway gateway, replayed on this machine (root, pnpm build first) with the
 * scripts exactly as cloud-init writes them (Terraform interpolations evaluated):
 *
 * - `wg-ts-install` in a private mount namespace (tmpfs over /opt, /usr/local/bin and
 *   /etc/systemd/system, a no-op `systemctl`; npm's global prefix moved to /opt/npm-global, where
 *   NodeSource's is /usr, and the registry unreachable): it takes the packed wg-ts tarball from a
 *   file:// URL, refuses it when the SHA-256 differs (installing nothing), otherwise
 *   `npm install -g`s it offline and installs wg-ts@.service, and the installed `wg-ts` runs;
 * - every `write_files` entry written to its path (over overlays of /etc and /usr/local in a private
 *   mount namespace), then `wg-ts-network` run in a network namespace with a stand-in metadata API
 *   on 169.254.42.42 that lists the private NICs by MAC: each NIC gets the plan's address, the
 *   sysctls and the nftables ruleset are applied, the client's boot route is installed.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { packWgTs } from "../src/artifact/pack.js";
import { hubSpokeTopology } from "../src/model/reference.js";
import { INSTANCE_PATHS } from "../src/scaleway/cloud-init.js";
import { evaluateTemplate } from "../src/terraform/evaluate.js";
import { completeSecrets } from "../src/terraform/secrets.js";
import { tfName } from "../src/terraform/document.js";
import { synthesizeValidated } from "../src/scaleway/synth.js";
import { cloudPlans } from "../src/cloud/plans.js";
import type { WriteFile } from "./support/cloud-init.js";

const topology = hubSpokeTopology();
const synthesis = synthesizeValidated(topology);
let counter = 0;
const secrets = completeSecrets(topology.gateways.map((g) => g.name), undefined, (out) => out.fill(++counter));
const NETWORK_UUID = "3f6c1b2a-4d5e-4f60-8a7b-9c0d1e2f3a4b";

/** The instance's write_files with every interpolation given a value (artifact URL/hash as given). */
function writtenFiles(node: string, artifact: { url: string; sha256: string }, uuid: (network: string) => string = () => NETWORK_UUID): Map<string, WriteFile> {
  const value = (expression: string): string => {
    let m: RegExpExecArray | null;
    if ((m = /^var\.wireguard_(private|public)_keys\["([^"]+)"\]$/.exec(expression))) {
      const keys = m[1] === "private" ? secrets.wireguard_private_keys : secrets.wireguard_public_keys;
      return keys[m[2] as string] ?? "";
    }
    if (/^scaleway_instance_ip\.\w+\.address$/.test(expression)) return "198.51.100.7";
    if (expression === "random_password.database.result") return "Sample-pass_4.2+xYz";
    if (/^scaleway_rdb_instance\.\w+\.private_network\.0\.ip$/.test(expression)) return "172.16.32.5";
    if (expression === "jsonencode(var.ssh_public_key)") return JSON.stringify("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample operator@example");
    if ((m = /^element\(split\("\/", scaleway_vpc_private_network\.(\w+)\.id\), 1\)$/.exec(expression))) return uuid(m[1] as string);
    if (expression.includes("scaleway_object_bucket.artifacts.endpoint")) return artifact.url;
    if (expression.startsWith("filesha256(")) return artifact.sha256;
    throw new Error(`unexpected expression ${expression}`);
  };
  const config = parseYaml(evaluateTemplate(synthesis.userData.get(node) ?? "", value)) as { write_files: WriteFile[] };
  return new Map(config.write_files.map((f) => [f.path, f]));
}

let installs = 0;
const NPM_PREFIX = "/opt/npm-global";
const work = mkdtempSync(join(tmpdir(), "wg-ts-instance-"));
const tarball = packWgTs(join(work, "wg-ts.tgz"));

/**
 * Runs `script` (sh) with the install locations replaced by tmpfs in a private mount namespace, then
 * `check` (whatever the script's status); returns the script's status.
 */
function installInNamespace(script: string, check: string): { status: number | null; out: string } {
  const scriptFile = join(work, `install-${++installs}.sh`);
  writeFileSync(scriptFile, script);
  const wrapper = [
    "set -e",
    "mount -t tmpfs tmpfs /opt",
    "mount -t tmpfs tmpfs /usr/local/bin",
    "mount -t tmpfs tmpfs /etc/systemd/system",
    "printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/systemctl && chmod 755 /usr/local/bin/systemctl",
    // The gateway's global prefix is NodeSource's /usr; here it is inside the tmpfs. No registry.
    `export npm_config_prefix=${NPM_PREFIX} PATH=${NPM_PREFIX}/bin:$PATH npm_config_registry=http://127.0.0.1:9/ npm_config_update_notifier=false`,
    "set +e",
    `sh ${scriptFile}`,
    "rc=$?",
    check,
    "exit $rc",
  ].join("\n");
  const result = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", wrapper], { encoding: "utf8" });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe("a gateway's first boot: wg-ts-install", () => {
  it("npm-installs the packed wg-ts offline, installs its unit, and the installed wg-ts runs", () => {
    const files = writtenFiles("wireguard-hub", { url: `file://${tarball.path}`, sha256: tarball.sha256 });
    const script = files.get(INSTANCE_PATHS.installScript)?.content ?? "";
    expect(script).toContain(`URL='file://${tarball.path}'`);
    const result = installInNamespace(
      script,
      [
        `test -L ${NPM_PREFIX}/bin/wg-ts`,
        `test "$(command -v wg-ts)" = ${NPM_PREFIX}/bin/wg-ts`,
        `cmp ${NPM_PREFIX}/lib/node_modules/wg-ts/systemd/wg-ts@.service /etc/systemd/system/wg-ts@.service`,
        "wg-ts --help | grep -q genkey",
        "wg-ts genkey | wg-ts pubkey | grep -Eq '^[A-Za-z0-9+/]{43}=$'",
        "echo INSTALLED-AND-RUNS",
      ].join(" && "),
    );
    expect(result.out).toContain("INSTALLED-AND-RUNS");
    expect(result.out).toMatch(new RegExp(`wg-ts-install: node v\\d+\\.\\d+\\.\\d+, wg-ts \\d+\\.\\d+\\.\\d+ at ${NPM_PREFIX}/bin/wg-ts from file://`));
    expect(result.status).toBe(0);
  });

  it("refuses a tarball whose SHA-256 is not the one Terraform computed, installing nothing", () => {
    const files = writtenFiles("wireguard-hub", { url: `file://${tarball.path}`, sha256: createHash("sha256").update("something else").digest("hex") });
    const result = installInNamespace(files.get(INSTANCE_PATHS.installScript)?.content ?? "", `test ! -e ${NPM_PREFIX}/bin/wg-ts && test ! -e /etc/systemd/system/wg-ts@.service && echo NOTHING-INSTALLED`);
    expect(result.status).not.toBe(0);
    expect(result.out).toMatch(/FAILED/);
    expect(result.out).toContain("NOTHING-INSTALLED");
  });
});

// ---- wg-ts-network in a network namespace with a stand-in metadata API

const ns = `wgts-scw-${process.pid}`;
const ip = (...args: string[]) => {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const inNs = (command: string) => spawnSync("ip", ["netns", "exec", ns, "sh", "-c", command], { encoding: "utf8" });

afterAll(() => {
  spawnSync("ip", ["netns", "del", ns]);
});

describe("a gateway's and the client's first boot: wg-ts-network", () => {
  it.each(["wireguard-hub", "wireguard-spoke-01", "wireguard-spoke-02", "postgres-client"])("%s: finds its NICs through the metadata API and applies the plan", async (node) => {
    const plan = synthesis.userData.get(node);
    expect(plan).toBeDefined();
    spawnSync("ip", ["netns", "del", ns]);
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "address", "add", "169.254.42.42/32", "dev", "lo");
    // One NIC (a veth, its peer up for carrier) per private network of the node, with a known MAC.
    const interfaces = topology.gateways.find((g) => g.name === node)?.attachments.map((a) => a.network) ?? [topology.hosts.find((h) => h.name === node)?.attachment.network ?? "?"];
    const nics = interfaces.map((network, i) => ({ network, name: `pn${i}x`, mac: `02:00:00:00:0${i}:2a`, uuid: `${NETWORK_UUID.slice(0, -2)}${i}${i}` }));
    for (const nic of nics) {
      ip("-n", ns, "link", "add", nic.name, "address", nic.mac, "type", "veth", "peer", "name", `${nic.name}p`);
      ip("-n", ns, "link", "set", `${nic.name}p`, "up");
    }
    const conf = JSON.stringify({ private_nics: nics.map((n) => ({ private_network_id: n.uuid, mac_address: n.mac.toUpperCase() })) });
    const server = spawn("ip", ["netns", "exec", ns, "python3", "-c", `
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/conf?format=json"
        self.send_response(200 if ok else 404); self.end_headers()
        if ok: self.wfile.write(${JSON.stringify(conf)}.encode())
    def log_message(self, *a): pass
http.server.HTTPServer(("169.254.42.42", 80), H).serve_forever()
`]);
    try {
      await new Promise((r) => setTimeout(r, 700));
      // cloud-init's write_files, into a staging tree copied over overlays of /etc, /usr/local and /opt.
      const byTfNetwork = new Map(nics.map((n) => [tfName(n.network), n.uuid]));
      const files = writtenFiles(node, { url: "file:///nonexistent", sha256: "0".repeat(64) }, (tf) => byTfNetwork.get(tf) ?? "unknown");
      const stage = mkdtempSync(join(work, "stage-"));
      for (const file of files.values()) {
        if (!/^\/(etc|usr\/local)\//.test(file.path)) throw new Error(`write_files outside /etc and /usr/local: ${file.path}`);
        mkdirSync(join(stage, dirname(file.path)), { recursive: true });
        writeFileSync(join(stage, file.path), file.encoding === "b64" ? Buffer.from(file.content, "base64") : file.content, { mode: Number.parseInt(file.permissions, 8) });
      }
      const layers = mkdtempSync(join(work, "layers-"));
      const boot = [
        "set -e",
        ...["/etc", "/usr/local"].map((d) => `mkdir -p ${layers}/u${d} ${layers}/w${d} && mount -t overlay overlay -o lowerdir=${d},upperdir=${layers}/u${d},workdir=${layers}/w${d} ${d}`),
        ...["etc", "usr/local"].map((d) => `if [ -d ${stage}/${d} ]; then cp -a ${stage}/${d}/. /${d}/; fi`),
        INSTANCE_PATHS.networkScript,
      ].join("\n");
      const result = inNs(`unshare --mount --propagation private sh -c '${boot}'`);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const nodePlan = cloudPlans(topology).get(node);
      for (const [i, planned] of (nodePlan?.interfaces ?? []).entries()) {
        expect(result.stdout).toContain(`wg-ts-network: ${planned.network} -> ${nics[i]?.name} ${planned.address}`);
        expect(inNs(`ip -4 -o address show dev ${nics[i]?.name}`).stdout).toContain(`inet ${planned.address}`);
      }
      if (nodePlan?.nftables !== undefined) {
        expect(inNs("nft list tables").stdout).toContain("table inet wgts_filter");
        expect(inNs("sysctl -n net.ipv4.ip_forward").stdout.trim()).toBe("1");
      }
      for (const route of nodePlan?.routes ?? []) {
        expect(inNs("ip -4 route show default").stdout).toContain(`default via ${route.via.kind === "address" ? route.via.address : "?"}`);
      }
    } finally {
      server.kill();
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
