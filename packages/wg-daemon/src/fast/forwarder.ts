/**
 * Standalone prototype forwarder for measuring the fast data plane (no handshake: fixed transport
 * keys and indices given on the command line, one peer). Used by `pnpm bench` as "wg-ts-fast".
 *
 *   node forwarder.js --tun IF --mtu 1420 --listen PORT --peer IP:PORT --send-key HEX --recv-key HEX
 *                     --send-index N --recv-index N [--no-offload] [--no-gro] [--no-udp-gso] [--no-udp-gro] [--spin N] [--young-mb N] [--blocking] [--batch 64] [--stats]
 */
import { SessionTable } from "@wg-ts/core";
import { startFastDataPlane } from "./dataplane.js";

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const [host, port] = arg("peer").split(":");
// The fixed keypair in a session table of its own (wg-core session-table.ts), as the daemon's Device
// keeps its keypairs; created at +Infinity: fixed keys have no handshake to renew them, so they never expire.
const table = SessionTable.create({ maxSlots: 1, initialSlots: 1 });
const slot = table.install({
  sendKey: Buffer.from(arg("send-key"), "hex"),
  receiveKey: Buffer.from(arg("recv-key"), "hex"),
  localIndex: Number(arg("recv-index")),
  remoteIndex: Number(arg("send-index")),
  isInitiator: true,
  createdAt: Number.POSITIVE_INFINITY,
  peer: 0,
});
const dp = await startFastDataPlane({
  table: table.handles,
  tunName: arg("tun"),
  mtu: Number(arg("mtu", "1420")),
  udpPort: Number(arg("listen")),
  offload: !flag("no-offload"),
  batch: Number(arg("batch", "128")),
  blocking: flag("blocking"),
  gro: !flag("no-gro"),
  udpGso: !flag("no-udp-gso"),
  udpGro: !flag("no-udp-gro"),
  spin: Number(arg("spin", "0")),
  youngGenerationMb: Number(arg("young-mb", "2")),
});
dp.setPeer(0, { slot, generation: table.generation(slot) }, { address: host ?? "", port: Number(port) });
// The prototype accepts any inner source (its peer is trusted by construction: fixed keys).
dp.setRoutes([
  { peer: 0, family: 4, bits: 0, bytes: new Uint8Array(4) },
  { peer: 0, family: 6, bits: 0, bytes: new Uint8Array(16) },
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
