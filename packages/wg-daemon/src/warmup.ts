/**
 * Warming a fresh daemon's packet path before its first packet. V8 compiles JavaScript as it runs:
 * a daemon's first lone packets each took ~0.5 ms more per round trip while their path was still
 * interpreted or in baseline code (benchmarks/README.md, sections 22–23). So before the daemon
 * answers on its UAPI socket, two throwaway tunnels — the daemon's own classes
 * ({@link openTunnel}: Engine, wg-core Device, data plane, main loop, pipelines, AEAD) — run a
 * handshake and then lone pings to each other: each "TUN" is one end of a socketpair that the
 * warm-up writes packets into and reads them from, each "UDP socket" is bound to 127.0.0.1 only.
 * Nothing reaches the daemon's own interface, socket or session table, and nothing leaves the host.
 * V8's helper threads compile meanwhile; the pings go on, in batches, until a batch passes without
 * a compile. Then everything is closed, the throwaway keys erased, and the garbage collected; what
 * stays is the compiled code (~1–2 MiB).
 *
 * Where nothing answers through 127.0.0.1 (a network namespace whose `lo` is down) the warm-up
 * gives up within a second: the caller logs why and the daemon starts cold.
 */
import { AF_UNIX, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET, libc } from "./libc.js";
import { finish, sum16 } from "./dataplane/checksum.js";
import { reclaimMemory } from "./dataplane/reclaim.js";
import { helperCpuNs } from "./dataplane/tiering.js";
import { sys, type FdWatch } from "./dataplane/sys.js";
import { VNET_HDR_LEN } from "./dataplane/tun.js";
import { generatePrivateKey, publicKey } from "./keys.js";
import { openTunnel, type Tunnel } from "./tunnel.js";

/** Round trips a daemon warms up with at most by default (env WG_TS_WARMUP). */
export const WARMUP_ROUND_TRIPS = 20000;
/** Round trips at least. */
const MIN_ROUND_TRIPS = 300;
/** Round trips between looks at V8's helper threads. */
const BATCH = 100;
/** Helper CPU time during a batch under which nothing was compiled (ns). */
const QUIET_NS = 1e6;
/** The warm-up ends after this long at most (a loaded machine: the daemon then starts as warm as it got). */
const WARMUP_TIMEOUT_MS = 5000;
/** Or when no round trip (the first one: the handshake too) completed for this long. */
const STALL_MS = 1000;
/** ::ffff:127.0.0.1: the throwaway sockets take IPv4 loopback traffic only. */
const LOOPBACK = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
/** Inner addresses of the two throwaway tunnels (TEST-NET-1, RFC 5737): only ever inside the socketpairs. */
const INNER = [Uint8Array.from([192, 0, 2, 1]), Uint8Array.from([192, 0, 2, 2])] as const;
/** The throwaway links' MTU (wg-quick's default: transport padding as on a real link). */
const LINK_MTU = 1420;
/** An inner IPv4 ICMP echo as `ping` sends it: 20 + 8 + 56 bytes. */
const ECHO_LENGTH = 84;

export interface WarmUpResult {
  roundTrips: number;
  ms: number;
}

/**
 * A TUN read as the pipelines see it: a zero virtio-net header, then an IPv4 ICMP echo request
 * (`type` 8) or reply (0) from `src` to `dst`, with valid checksums.
 */
function echo(type: 8 | 0, src: Uint8Array, dst: Uint8Array): Buffer {
  const b = Buffer.alloc(VNET_HDR_LEN + ECHO_LENGTH);
  const ip = VNET_HDR_LEN;
  b[ip] = 0x45;
  b.writeUInt16BE(ECHO_LENGTH, ip + 2);
  b[ip + 6] = 0x40; // don't fragment
  b[ip + 8] = 64; // TTL
  b[ip + 9] = 1; // ICMP
  b.set(src, ip + 12);
  b.set(dst, ip + 16);
  b.writeUInt16BE(finish(sum16(b, ip, ip + 20)), ip + 10);
  const icmp = ip + 20;
  b[icmp] = type;
  b.writeUInt16BE(0x7767, icmp + 4); // identifier
  b.writeUInt16BE(1, icmp + 6); // sequence
  for (let i = icmp + 8; i < b.length; i++) b[i] = i & 0xff;
  b.writeUInt16BE(finish(sum16(b, icmp, b.length)), icmp + 2);
  return b;
}

/** One throwaway tunnel: its data path, and the socketpair end the warm-up plays the host's stack on. */
interface Side {
  tunnel: Tunnel | null;
  /** The warm-up's end of the socketpair (the tunnel reads and writes the other). */
  app: number;
  watch: FdWatch | null;
}

/**
 * Runs lone pings through two throwaway tunnels (see the file comment), one at a time, the first
 * after their handshake, until a batch of {@link BATCH} passed without a compile (at least
 * {@link MIN_ROUND_TRIPS}, at most `maxRoundTrips` or {@link WARMUP_TIMEOUT_MS}); resolves once
 * everything is closed. Rejects with the reason when no round trip completes for {@link STALL_MS}
 * (no loopback); closed alike.
 */
export async function warmUp(maxRoundTrips = WARMUP_ROUND_TRIPS): Promise<WarmUpResult> {
  const c = libc();
  const started = performance.now();
  const sides: Side[] = [];
  const keys = [generatePrivateKey(), generatePrivateKey()];
  try {
    for (let i = 0; i < 2; i++) {
      const [tunFd, app] = c.socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (tunFd < 0) throw new Error(`socketpair: errno ${c.errno()}`);
      const side: Side = { tunnel: null, app, watch: null };
      sides.push(side);
      try {
        side.tunnel = await openTunnel(`warm-up-${i}`, { tunFd, udpAddress: LOOPBACK, workers: "never", mtu: 1500, linkMtu: LINK_MTU }, () => {});
      } catch (e) {
        c.close(tunFd);
        throw e;
      }
      await side.tunnel.engine.start(0);
    }
    const [a, b] = sides as [Side & { tunnel: Tunnel }, Side & { tunnel: Tunnel }];
    const peer = (i: 0 | 1): Parameters<Tunnel["engine"]["set"]>[0] => ({
      privateKey: keys[i]!,
      replacePeers: true,
      peers: [
        {
          publicKey: publicKey(keys[1 - i]!),
          remove: false,
          updateOnly: false,
          endpoint: { address: "127.0.0.1", port: sides[1 - i]!.tunnel!.engine.get().listenPort },
          replaceAllowedIps: true,
          allowedIps: [`${INNER[1 - i]!.join(".")}/32`],
        },
      ],
    });
    await a.tunnel.engine.set(peer(0));
    await b.tunnel.engine.set(peer(1));
    const request = echo(8, INNER[0], INNER[1]);
    const reply = echo(0, INNER[1], INNER[0]);
    const io = sys();
    const buf = Buffer.alloc(65536);
    const bufAddr = c.addressOf(buf);
    let done = 0;
    let helpers = helperCpuNs();
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      // Gives up when no round trip completed for STALL_MS (no answer: `lo` down); ends after WARMUP_TIMEOUT_MS in all.
      const watchdog = setInterval(() => {
        if (done === seen) end(new Error(`no answer through 127.0.0.1 within ${STALL_MS} ms (${done} round trips)`));
        else if (performance.now() - started > WARMUP_TIMEOUT_MS) end(); // as warm as it got
        seen = done;
      }, STALL_MS);
      let ended = false;
      const end = (error?: Error): void => {
        if (ended) return;
        ended = true;
        clearInterval(watchdog);
        if (error) reject(error);
        else resolve();
      };
      const send = (side: Side, packet: Buffer): void => {
        if (!ended && io.write(side.app, c.addressOf(packet), packet.length) < 0) end(new Error("cannot write to a throwaway tunnel"));
      };
      /** Reads what `side`'s tunnel wrote to its TUN; `then` for each packet of the expected length. */
      const drain = (side: Side, then: () => void): void => {
        for (let n; (n = io.read(side.app, bufAddr, buf.length)) > 0; ) if (n === VNET_HDR_LEN + ECHO_LENGTH) then();
      };
      /** After each batch: done once V8's helpers compiled nothing during it (or at the cap). */
      const settled = (): boolean => {
        if (done % BATCH !== 0) return false;
        const now = helperCpuNs();
        const quiet = now - helpers < QUIET_NS;
        helpers = now;
        return (quiet && done >= MIN_ROUND_TRIPS) || done >= maxRoundTrips;
      };
      // B's host answers every request; A's sends the next one when the answer is back.
      b.watch = io.watch(b.app, () => drain(b, () => send(b, reply)));
      a.watch = io.watch(a.app, () =>
        drain(a, () => {
          done++;
          if (settled()) end();
          else send(a, request);
        }),
      );
      send(a, request);
    });
    return { roundTrips: done, ms: Math.round(performance.now() - started) };
  } finally {
    for (const side of sides) {
      side.watch?.close();
      const engine = side.tunnel?.engine;
      if (engine) {
        // Erases the throwaway keys (the Device wipes its copy of a cleared private key, removed peers' keys).
        await engine.set({ privateKey: null, replacePeers: true, peers: [] }).catch(() => {});
        engine.stop();
      }
      c.close(side.app);
    }
    for (const k of keys) k.fill(0);
    // The data planes close asynchronously (dataplane/io.ts) and libuv releases the fd watches (and
    // with them the pipelines and their buffers) in its close phase: collect after that, or an idle
    // daemon keeps them until its next full collection, minutes away.
    await new Promise((r) => setTimeout(r, 20));
    reclaimMemory({ compact: true });
  }
}
