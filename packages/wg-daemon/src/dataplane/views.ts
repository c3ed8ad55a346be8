/**
 * A pipeline thread's views of the shared state (shared.ts): the peer records, read under their
 * seqlocks and written for one thing, roaming; and the control words with the routes snapshot,
 * copied when their generation moves. Reads never block the writer; a torn read is retried.
 */
import { AllowedIps, formatCidr } from "@wg-ts/core";
import { KP, PEER_WORDS, PR, ROUTE_WORDS, byteView, float64View, int32View, lockRecord, unlockRecord, writeRecordEndpoint, type SharedBuffers } from "./shared.js";
import { SOCKADDR6, writeSockaddrBytes } from "./udp.js";

/** Fixed-length views of the peer records (re-created when the buffer has grown past them). */
export class PeerRecords {
  words: Int32Array;
  f64: Float64Array;
  bytes: Uint8Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = int32View(buffer);
    this.f64 = float64View(buffer);
    this.bytes = byteView(buffer);
  }
  /** The record's word offset, or −1 when the buffer does not hold it (yet). */
  at(peer: number): number {
    const w = peer * PEER_WORDS;
    if (w + PEER_WORDS > this.words.length) {
      if (this.buffer.byteLength / 4 < w + PEER_WORDS) return -1;
      this.words = int32View(this.buffer);
      this.f64 = float64View(this.buffer);
      this.bytes = byteView(this.buffer);
    }
    return w;
  }
}

/** One peer's record as this thread last read it (re-read when its seq moves). */
export class PeerView {
  seq = -1;
  sendSlot = -1;
  sendGeneration = 0;
  /** struct sockaddr_in6 of the endpoint, or null when the peer has none. */
  endpoint: Buffer | null = null;
  constructor(readonly id: number) {}
}

/** This thread's views of every peer's record, by the core's peer id. */
export class PeerViews {
  readonly #views: (PeerView | undefined)[] = [];
  constructor(readonly records: PeerRecords) {}

  /** Peer `id`'s record, re-read under its seqlock if it moved; null when it cannot be read consistently now. */
  read(id: number): PeerView | null {
    const records = this.records;
    const w = records.at(id);
    if (w < 0) return null;
    const v = this.#views[id] ?? (this.#views[id] = new PeerView(id));
    const words = records.words;
    // A writer holds the record for a few stores; one descheduled meanwhile costs a wait, not a wrong read.
    for (let tries = 0; tries < 1 << 20; tries++) {
      const seq = Atomics.load(words, w + PR.seq);
      if (seq === v.seq) return v;
      if ((seq & 1) === 1) continue; // the main thread or the rx worker is writing it
      const slot = words[w + PR.sendSlot]!;
      const generation = words[w + PR.sendGeneration]!;
      const family = words[w + PR.endpointFamily]!;
      const port = words[w + PR.endpointPort]! & 0xffff;
      const a = (w + PR.endpointAddr) * 4;
      const addr = family === 4 || family === 6 ? records.bytes.slice(a, a + (family === 4 ? 4 : 16)) : null;
      if (Atomics.load(words, w + PR.seq) !== seq) continue;
      v.sendSlot = slot;
      v.sendGeneration = generation;
      if (addr === null) v.endpoint = null;
      else {
        v.endpoint = Buffer.alloc(SOCKADDR6);
        writeSockaddrBytes(v.endpoint, 0, addr, port);
      }
      v.seq = seq;
      return v;
    }
    return null;
  }

  /**
   * Roaming (whitepaper §2.1; wg-core's Device applies it when told, WorkerEvent "received"): an
   * authenticated datagram's source, the struct sockaddr_in6 at names[at..], becomes peer `peer`'s
   * endpoint. The rx pipeline writes it into the record itself, before the inner packet reaches the
   * TUN, so the tx pipeline already answers to it (the kernel and wireguard-go set the endpoint
   * before they deliver the packet). Returns true when the endpoint moved.
   */
  roam(peer: number, names: Buffer, at: number): boolean {
    const v = this.read(peer);
    if (v !== null && !otherEndpoint(v, names, at)) return false;
    const records = this.records;
    const w = records.at(peer);
    if (w < 0) return false;
    const mapped = names.readUInt32BE(at + 8) === 0 && names.readUInt32BE(at + 12) === 0 && names.readUInt32BE(at + 16) === 0xffff;
    const address = mapped ? names.subarray(at + 20, at + 24) : names.subarray(at + 8, at + 24);
    const held = lockRecord(records.words, w);
    writeRecordEndpoint(records.words, records.bytes, w, address, names.readUInt16BE(at + 2));
    unlockRecord(records.words, w, held);
    return true;
  }
}

/** True when the struct sockaddr_in6 at names[at..] is not `view`'s endpoint (port and address; no endpoint: true). */
function otherEndpoint(view: PeerView, names: Buffer, at: number): boolean {
  const e = view.endpoint;
  if (e === null) return true;
  for (let i = 2; i < 4; i++) if (e[i] !== names[at + i]) return true;
  for (let i = 8; i < 24; i++) if (e[i] !== names[at + i]) return true;
  return false;
}

/** The control words and the routes snapshot, copied when the control generation moves. */
export class Snapshot {
  generation = -1;
  /** The routes snapshot: inner address → the core's peer id (wg-core's trie). */
  routes = new AllowedIps<number>();
  /** openBatch's `peers`: peer id → the value routes hold for it (the id itself). */
  ids: number[] = [];
  linkMtu = 0;
  /** The device's static public key as published (null: none). */
  ownKey: Uint8Array | null = null;
  readonly #control: Int32Array;
  readonly #controlBytes: Uint8Array;

  constructor(readonly shared: Pick<SharedBuffers, "control" | "routes">) {
    this.#control = new Int32Array(shared.control);
    this.#controlBytes = new Uint8Array(shared.control);
  }

  /** Returns true when a new consistent copy was taken. */
  refresh(): boolean {
    const control = this.#control;
    const g = Atomics.load(control, KP.generation);
    if (g === this.generation || g & 1) return false; // unchanged, or being written: keep the old copy
    const n = control[KP.routeCount]!;
    const routesBuffer = this.shared.routes;
    const words = new Int32Array(routesBuffer, 0, Math.min(n * ROUTE_WORDS, routesBuffer.byteLength >> 2));
    const bytes = new Uint8Array(routesBuffer, 0, words.length * 4);
    const list: [string, number][] = [];
    let maxId = -1;
    for (let i = 0; i < n && (i + 1) * ROUTE_WORDS <= words.length; i++) {
      const w = i * ROUTE_WORDS;
      const fb = words[w + 1]!;
      const family = (fb & 0xff) === 6 ? 6 : 4;
      const a = (w + 2) * 4;
      const id = words[w]!;
      list.push([formatCidr({ family, bits: fb >> 8, bytes: bytes.slice(a, a + (family === 4 ? 4 : 16)) }), id]);
      if (id > maxId) maxId = id;
    }
    const linkMtu = control[KP.linkMtu]!;
    const ownKey = control[KP.ownKeyValid] === 1 ? this.#controlBytes.slice(KP.ownKey * 4, KP.ownKey * 4 + 32) : null;
    if (Atomics.load(control, KP.generation) !== g) return false; // torn: retry later
    const routes = new AllowedIps<number>();
    for (const [cidr, id] of list) if (id >= 0) routes.insert(cidr, id);
    this.routes = routes;
    this.ids = Array.from({ length: maxId + 1 }, (_, i) => i);
    this.linkMtu = linkMtu;
    this.ownKey = ownKey;
    this.generation = g;
    return true;
  }
}
