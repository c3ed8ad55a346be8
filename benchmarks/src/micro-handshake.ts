/**
 * Handshakes per second through two in-memory {@link Device}s (whitepaper §5.4.2 – §5.4.5): one
 * operation = A's initiation (triggered by a staged packet), B's response, A's first transport
 * packet and B's decryption of it (which confirms the session on the responder side), including
 * MAC1 computation and checks. Virtual time jumps past RejectAfterTime between operations so every
 * iteration starts from expired sessions, like an idle tunnel that wakes up; tick() is not called.
 *
 * Returns null (row left out) if @wg-ts/core has no Device, so micro.ts never depends on it to build.
 */
import { randomFillSync } from "node:crypto";
import * as core from "@wg-ts/core";

/** The subset of the Device API this benchmark drives (docs/architecture.md, "The wg-core contract"). */
interface Endpoint {
  address: string;
  port: number;
}
interface Action {
  kind: string;
  datagram?: Uint8Array;
  reason?: string;
}
interface DeviceLike {
  publicKey: { bytes: Uint8Array } | null;
  addPeer(config: { publicKey: Uint8Array; endpoint: Endpoint; allowedIps: string[] }, now: number): unknown;
  encapsulate(packet: Uint8Array, now: number, out: Action[]): void;
  decapsulate(datagram: Uint8Array, from: Endpoint, now: number, out: Action[]): void;
}
type DeviceCtor = new (options: { privateKey: Uint8Array; random: (out: Uint8Array) => void; aead?: core.TransportAead; x25519?: core.X25519Backend }) => DeviceLike;

/** How the two Devices are made: wg-core's defaults, or as the daemon makes its own (engine.ts). */
export interface HandshakeSetup {
  /** The row's implementation label. */
  readonly label: string;
  readonly random: (out: Uint8Array) => void;
  /** Transport AEAD (the first transport packet is sealed and opened with it); default: wg-core's. */
  readonly aead?: core.TransportAead;
  /** The handshake's X25519; default: wg-core's (node:crypto). */
  readonly x25519?: core.X25519Backend;
}

export interface HandshakeCase {
  readonly benchmark: "handshake";
  readonly implementation: string;
  readonly size: null;
  readonly iterations: number;
  readonly bytesPerOp: null;
  readonly run: (n: number) => void;
  readonly note: string;
}

/** Builds the handshake benchmark case, or null when @wg-ts/core exports no Device. */
export async function handshakeBench(
  iterations: number,
  setup: HandshakeSetup = { label: "Device ↔ Device", random: (out) => void randomFillSync(out) },
): Promise<HandshakeCase | null> {
  const Device = (core as unknown as { Device?: DeviceCtor }).Device;
  if (typeof Device !== "function") return null;
  const { random, aead, x25519 } = setup;
  const key = (): Uint8Array => {
    const k = randomFillSync(new Uint8Array(32));
    k[0]! &= 248;
    k[31] = (k[31]! & 127) | 64;
    return k;
  };
  const a = new Device({ privateKey: key(), random, ...(aead ? { aead } : {}), ...(x25519 ? { x25519 } : {}) });
  const b = new Device({ privateKey: key(), random, ...(aead ? { aead } : {}), ...(x25519 ? { x25519 } : {}) });
  const epA: Endpoint = { address: "192.0.2.1", port: 51820 };
  const epB: Endpoint = { address: "192.0.2.2", port: 51820 };
  let now = 1_700_000_000_000;
  a.addPeer({ publicKey: b.publicKey!.bytes, endpoint: epB, allowedIps: ["10.0.0.2/32"] }, now);
  b.addPeer({ publicKey: a.publicKey!.bytes, endpoint: epA, allowedIps: ["10.0.0.1/32"] }, now);

  // A 28-byte IPv4 packet 10.0.0.1 → 10.0.0.2.
  const packet = new Uint8Array(28);
  packet.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const out: Action[] = [];
  const datagrams = (): Uint8Array[] => {
    const d = out.filter((x) => x.kind === "toNetwork").map((x) => x.datagram!);
    out.length = 0;
    return d;
  };
  const expectOne = (what: string, type: number): Uint8Array => {
    const d = datagrams();
    const found = d.find((x) => x[0] === type);
    if (found === undefined) throw new Error(`handshake benchmark: no ${what} (got types ${d.map((x) => x[0]).join(",")})`);
    return found;
  };

  const one = (): void => {
    // > RejectAfterTime (180 s): the previous session is dead. Timers are not run (tick), so
    // only this packet's initiation is measured, not the retransmits an idle peer would send.
    now += 200_000;
    out.length = 0;
    a.encapsulate(packet, now, out);
    const initiation = expectOne("initiation", 1);
    b.decapsulate(initiation, epA, now, out);
    const response = expectOne("response", 2);
    a.decapsulate(response, epB, now, out);
    const data = expectOne("transport packet", 4);
    b.decapsulate(data, epA, now, out);
    if (!out.some((x) => x.kind === "toTunnel")) throw new Error("handshake benchmark: responder did not deliver the packet");
    out.length = 0;
  };
  one(); // fail fast, before timing, if the API does not behave as expected

  return {
    benchmark: "handshake",
    implementation: setup.label,
    size: null,
    iterations,
    bytesPerOp: null,
    run: (n) => {
      for (let i = 0; i < n; i++) one();
    },
    note: "initiation + response + first transport packet, both sides, incl. MAC1; ops/s = complete handshakes per second on one core",
  };
}
