/**
 * Operator mistakes: every broken config field makes `wg-ts up` exit non-zero with a message
 * naming the file, the line and the key, and leaves nothing half-configured behind: no TUN,
 * no UAPI socket, no daemon, no addresses, routes or rules (namespace wgh3a). Failures that only
 * show once the daemon runs (port in use, a failing PostUp) are undone the same way.
 */
import { spawn } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanLeftovers, genkey, inNs, linkExists, nsSh, pidsOf, sh, tempDir, wgTs, writeConf } from "./support/lab.js";

const NS = "wgh3a";
const IF = "wgh3x";
const dir = tempDir("wgh3-");
const conf = `${dir}/${IF}.conf`;
const k = genkey();
const kp = genkey();
const PORT = 52306;

const BASE = [
  "[Interface]", // 1
  `PrivateKey = ${k.priv}`, // 2
  "Address = 10.153.1.1/24", // 3
  `ListenPort = ${PORT}`, // 4
  "", // 5
  "[Peer]", // 6
  `PublicKey = ${kp.pub}`, // 7
  "AllowedIPs = 10.153.1.2/32, 10.153.9.0/24", // 8
  "Endpoint = 10.153.0.2:52307", // 9
];

/** The namespace's network state plus wg-ts's footprint on the machine. */
function snapshot(): string {
  return [
    nsSh(NS, "ip", ["-o", "link"]).replace(/\d+: /g, ""),
    nsSh(NS, "ip", ["-o", "addr"]),
    nsSh(NS, "ip", ["route", "show", "table", "all"]),
    nsSh(NS, "ip", ["rule"]),
    nsSh(NS, "ip", ["-6", "rule"]),
    inNs(NS, "nft", ["list", "ruleset"]).stdout,
    readdirSync("/var/run/wireguard").filter((f) => f.startsWith(IF)).join(","),
    String(pidsOf(`wg-ts.js daemon ${IF}`).length),
  ].join("\n---\n");
}

function mutate(line: number, content: string | null, extra: string[] = []): string {
  const lines = [...BASE];
  if (content === null) lines.splice(line - 1, 1);
  else lines[line - 1] = content;
  return [...lines, ...extra].join("\n") + "\n";
}

beforeAll(() => {
  cleanLeftovers([NS], [IF]);
  sh("ip", ["netns", "add", NS]);
  sh("ip", ["-n", NS, "link", "set", "lo", "up"]);
});

afterAll(() => {
  wgTs(NS, ["down", conf]);
  cleanLeftovers([NS], [IF]);
  rmSync(dir, { recursive: true, force: true }); // the configs hold a private key
});

// [what, config text, line, key] — the key as the message must name it.
const cases: [string, string, number, string][] = [
  ["private key not base64", mutate(2, "PrivateKey = not-a-key!"), 2, "PrivateKey"],
  ["private key too short", mutate(2, "PrivateKey = AAAA"), 2, "PrivateKey"],
  ["address prefix too long", mutate(3, "Address = 10.153.1.1/33"), 3, "Address"],
  ["address not an IP", mutate(3, "Address = banana/24"), 3, "Address"],
  ["listen port out of range", mutate(4, "ListenPort = 70000"), 4, "ListenPort"],
  ["listen port negative", mutate(4, "ListenPort = -1"), 4, "ListenPort"],
  ["endpoint without port", mutate(9, "Endpoint = 10.153.0.2"), 9, "Endpoint"],
  ["endpoint port out of range", mutate(9, "Endpoint = 10.153.0.2:99999"), 9, "Endpoint"],
  ["endpoint v6 without brackets", mutate(9, "Endpoint = fd00::1:51820"), 9, "Endpoint"],
  ["allowed IP prefix too long", mutate(8, "AllowedIPs = 10.153.1.2/40"), 8, "AllowedIPs"],
  ["allowed IP octet out of range", mutate(8, "AllowedIPs = 10.153.1.300/32"), 8, "AllowedIPs"],
  ["peer public key bad", mutate(7, "PublicKey = xyz"), 7, "PublicKey"],
  ["preshared key bad", mutate(9, "PresharedKey = 123", ["Endpoint = 10.153.0.2:52307"]), 9, "PresharedKey"],
  ["keepalive out of range", mutate(9, "PersistentKeepalive = 70000"), 9, "PersistentKeepalive"],
  ["MTU too small", mutate(4, "MTU = 100"), 4, "MTU"],
  ["unknown key in [Interface]", mutate(4, "Frobnicate = 1"), 4, "Frobnicate"],
  ["unknown key in [Peer]", mutate(9, "Colour = blue"), 9, "Colour"],
  ["bad section", mutate(6, "[Peers]"), 6, "[Peers]"],
  ["peer without public key", mutate(7, null), 6, "[Peer]"],
  ["duplicate peer", mutate(9, BASE[8]!, ["", "[Peer]", `PublicKey = ${kp.pub}`, "AllowedIPs = 10.153.2.0/24"]), 12, "PublicKey"],
  ["line without =", mutate(5, "ListenPort 1"), 5, "ListenPort 1"],
];

describe("operators: broken configs", () => {
  const clean = (): string => snapshot();
  let before = "";
  beforeAll(() => {
    before = clean();
  });
  // A case that wrongly succeeds must not leave its interface to the next one.
  afterEach(() => {
    if (linkExists(NS, IF) || pidsOf(`wg-ts.js daemon ${IF}$`).length) {
      writeConf(conf, BASE.join("\n") + "\n");
      wgTs(NS, ["down", conf]);
      cleanLeftovers([], [IF]);
    }
  });

  it.each(cases)("%s: non-zero exit, message names file:line and key, nothing left behind", (_what, text, line, key) => {
    writeConf(conf, text);
    const r = wgTs(NS, ["up", conf]);
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    const msg = r.stderr.trim().split("\n").pop()!;
    expect(msg).toContain(`${IF}.conf:${line}:`);
    expect(msg).toContain(key);
    expect(msg).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(r.stderr).not.toContain(k.priv);
    expect(snapshot()).toBe(before);
  });

  it("file-level mistakes: missing file, a directory, a bad interface name, binary junk — named, nothing created", () => {
    const junk = `${dir}/${IF}.conf`;
    const tries: [string, string, RegExp][] = [
      ["missing", `${dir}/wgh3none.conf`, /wgh3none\.conf' does not exist/],
      ["bad name", `${dir}/this-name-is-too-long.conf`, /must be a valid interface name/],
      ["directory", `${dir}/wgh3dir.conf`, /wgh3dir\.conf' is not a regular file/],
      ["binary junk", junk, new RegExp(`${IF}\\.conf:1: `)],
    ];
    sh("mkdir", ["-p", `${dir}/wgh3dir.conf`]);
    writeConf(junk, "\u0000\u0001\u0002garbage\n[Interface]\n");
    for (const [what, path, re] of tries) {
      const r = wgTs(NS, ["up", path]);
      expect(r.status, what).not.toBe(0);
      expect(r.stderr, what).toMatch(re);
      expect(r.stderr, what).not.toMatch(/\n\s+at /);
      expect(snapshot(), what).toBe(before);
    }
  });

  it("ListenPort already in use: non-zero exit naming the port, TUN/socket/daemon/addresses undone", async () => {
    // Something else holds the port in the namespace (bounded: it exits after 20 s).
    const holder = spawn("ip", [
      "netns", "exec", NS, process.execPath, "-e",
      `const s=require("dgram").createSocket("udp4");s.bind(${PORT},()=>console.log("bound"));setTimeout(()=>process.exit(0),20000)`,
    ]);
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => resolve());
      holder.once("exit", (c) => reject(new Error(`the port holder exited (${c}) before binding`)));
    });
    const snap = snapshot();
    try {
      writeConf(conf, BASE.join("\n") + "\n");
      const r = wgTs(NS, ["up", conf]);
      console.log(`port in use: exit ${r.status}: ${r.stderr.trim().split("\n").pop()}`);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`${IF}.conf: ListenPort = ${PORT}: the port is already in use`);
      expect(r.stderr).not.toContain(k.priv);
      expect(snapshot()).toBe(snap);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("PostUp fails: the interface is taken down again, routes removed, exit non-zero", () => {
    writeConf(conf, BASE.join("\n").replace("[Peer]", "PostUp = false\n\n[Peer]") + "\n");
    const r = wgTs(NS, ["up", conf]);
    console.log(`PostUp fails: exit ${r.status}: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
    expect(r.status).not.toBe(0);
    expect(snapshot()).toBe(before);
  });

  it("a valid config still comes up and goes down cleanly afterwards", () => {
    writeConf(conf, BASE.join("\n") + "\n");
    const r = wgTs(NS, ["up", conf]);
    expect(r.status, r.stderr).toBe(0);
    expect(nsSh(NS, "ip", ["route", "show", "dev", IF])).toContain("10.153.9.0/24");
    expect(wgTs(NS, ["down", conf]).status).toBe(0);
    expect(snapshot()).toBe(before);
  });
});
