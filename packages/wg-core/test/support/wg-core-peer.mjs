// A minimal WireGuard host built from wg-core's dist/ and one dgram socket, for the wireguard-go
// e2e test. Run inside a network namespace: `node wg-core-peer.mjs '<json config>'`.
// It answers ICMP echo requests addressed to its inner address and, on stdin commands, sends
// echo requests. It reports JSON lines on stdout: {"event": "ready" | "echo-reply" | "echo-request"
// | "drop" | "status", ...}. Keys arrive base64 in the config and are never printed.
import dgram from "node:dgram";
import { randomFillSync } from "node:crypto";
import { createInterface } from "node:readline";
import { Device, PresharedKey, PrivateKey, PublicKey } from "../../dist/index.js";
import { echoReplyFor, icmpEcho, parseIcmpEcho } from "./ip.mjs";

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const device = new Device({ privateKey: PrivateKey.fromBase64(cfg.privateKey), random: (b) => randomFillSync(b) });
const peer = device.addPeer(
  {
    publicKey: PublicKey.fromBase64(cfg.peerPublicKey),
    allowedIps: cfg.allowedIps,
    ...(cfg.presharedKey ? { presharedKey: PresharedKey.fromBase64(cfg.presharedKey) } : {}),
    ...(cfg.peerEndpoint ? { endpoint: cfg.peerEndpoint } : {}),
  },
  now(),
);

if (cfg.underLoad) device.underLoad = true; // cookie mode: MAC2 required on every handshake message

const socket = dgram.createSocket("udp4");
const out = [];
function run() {
  for (const a of out) {
    if (a.kind === "toNetwork") {
      if (a.datagram[0] === 3) emit({ event: "cookie-reply" });
      socket.send(a.datagram, a.endpoint.port, a.endpoint.address);
    }
    else if (a.kind === "drop") emit({ event: "drop", reason: a.reason });
    else if (a.kind === "toTunnel") {
      const echo = parseIcmpEcho(a.packet);
      if (echo === null) emit({ event: "unknown-packet", length: a.packet.length });
      else if (echo.type === 0) emit({ event: "echo-reply", src: echo.src, dst: echo.dst, id: echo.id, seq: echo.seq, length: echo.data.length });
      else if (echo.type === 8) {
        emit({ event: "echo-request", src: echo.src, dst: echo.dst, id: echo.id, seq: echo.seq });
        if (echo.dst === cfg.innerAddress) pending.push(echoReplyFor(echo));
      }
    }
  }
  out.length = 0;
  while (pending.length > 0) {
    device.encapsulate(pending.shift(), now(), out);
    run();
  }
}
const pending = [];

socket.on("message", (msg, rinfo) => {
  device.decapsulate(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), { address: rinfo.address, port: rinfo.port }, now(), out);
  run();
});
const timer = setInterval(() => {
  device.tick(now(), out);
  run();
}, 50);

createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === "ping") {
    const data = new Uint8Array(cmd.size ?? 56).map((_, i) => i & 0xff);
    device.encapsulate(icmpEcho(cfg.innerAddress, cmd.dst, { id: cmd.id, seq: cmd.seq, data }), now(), out);
    run();
  } else if (cmd.cmd === "status") {
    emit({
      event: "status",
      lastHandshakeAt: peer.lastHandshakeAt,
      rxBytes: peer.rxBytes,
      txBytes: peer.txBytes,
      endpoint: peer.endpoint,
      hasSession: peer.hasSession(now()),
    });
  } else if (cmd.cmd === "exit") {
    clearInterval(timer);
    socket.close();
    process.exit(0);
  }
});

socket.bind(cfg.listenPort, cfg.listenAddress, () => emit({ event: "ready" }));
