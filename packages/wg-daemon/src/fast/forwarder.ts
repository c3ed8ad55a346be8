/**
 * Standalone prototype forwarder for measuring the fast data plane (no handshake: fixed transport
 * keys and indices given on the command line, one peer). Used by `pnpm bench` as "wg-ts-fast".
 *
 *   node forwarder.js --tun IF --mtu 1420 --listen PORT --peer IP:PORT --send-key HEX --recv-key HEX
 *                     --send-index N --recv-index N [--no-offload] [--no-gro] [--no-udp-gso] [--no-udp-gro] [--spin N] [--young-mb N] [--blocking] [--batch 64] [--stats]
 */
import { startFastDataPlane } from "./dataplane.js";

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const [host, port] = arg("peer").split(":");
const dp = await startFastDataPlane({
  tunName: arg("tun"),
  mtu: Number(arg("mtu", "1420")),
  udpPort: Number(arg("listen")),
  peer: { address: host ?? "", port: Number(port) },
  offload: !flag("no-offload"),
  batch: Number(arg("batch", "128")),
  blocking: flag("blocking"),
  gro: !flag("no-gro"),
  udpGso: !flag("no-udp-gso"),
  udpGro: !flag("no-udp-gro"),
  spin: Number(arg("spin", "0")),
  youngGenerationMb: Number(arg("young-mb", "2")),
});
dp.setKeypair({
  sendKey: Buffer.from(arg("send-key"), "hex"),
  recvKey: Buffer.from(arg("recv-key"), "hex"),
  localIndex: Number(arg("recv-index")),
  remoteIndex: Number(arg("send-index")),
});
// The prototype accepts any inner source (its peer is trusted by construction: fixed keys).
dp.setAllowedIps([
  { family: 4, bits: 0, bytes: new Uint8Array(4) },
  { family: 6, bits: 0, bytes: new Uint8Array(16) },
]);
if (flag("stats")) {
  setInterval(() => process.stderr.write(`${JSON.stringify(dp.stats())}\n`), 1000).unref();
}
const stop = (): void => {
  if (flag("stats")) process.stderr.write(`final ${JSON.stringify(dp.stats())}\n`);
  // With --blocking the workers cannot be joined (they sit in read/recvmmsg): leave without them.
  if (flag("blocking")) process.kill(process.pid, "SIGKILL");
  void dp.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setInterval(() => {}, 1 << 30);
