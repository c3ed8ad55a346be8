/**
 * `node fastd.js IFNAME`: the wg-ts daemon (Engine + wg-core Device + UAPI socket, unchanged) on
 * the fast data plane (io.ts), without the CLI — what `wg-ts daemon IFNAME` does through daemon.ts;
 * kept as the bench's `wg-ts-fastd` (configured like wireguard-go). Configure it like
 * wireguard-go: `wg setconf IFNAME file`, `ip addr add … dev IFNAME`, `ip link set IFNAME up`.
 * Runs in the foreground until SIGINT/SIGTERM.
 */
import { setFlagsFromString } from "node:v8";
import { Engine, monotonicEpochMs } from "../engine.js";
import { socketPath, UapiServer } from "../uapi.js";
import { createFastIo } from "./io.js";

const name = process.argv[2];
if (!name) {
  process.stderr.write("usage: fastd IFNAME\n");
  process.exit(2);
}
// The main thread only sees handshakes and samples: keep its young generation small (peak RSS).
if (process.env["WG_TS_SEMI_SPACE_MB"] !== "0") setFlagsFromString(`--max-semi-space-size=${process.env["WG_TS_SEMI_SPACE_MB"] ?? 1}`);
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const io = await createFastIo(name, { mtu: Number(process.env["WG_TS_MTU"] ?? 1420) });
const engine = new Engine({ tun: io.tun, bind: io.bind, log });
io.attach(engine.core.device, monotonicEpochMs, log);
const uapi = new UapiServer(socketPath(name), engine, log);
await uapi.listen();
await engine.start(0);
log(`${name}: fast data plane daemon started (pid ${process.pid})`);
void engine.done.then((err) => {
  if (err) {
    log(`${name}: shutting down (${err.message})`);
    stop();
  }
});
function stop(): void {
  uapi.close(true);
  engine.stop();
  setTimeout(() => process.exit(0), 400).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
