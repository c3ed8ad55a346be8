/**
 * What the data-plane pipelines (tx.ts, rx.ts) run with on one thread: the wg-core session table
 * attached from shared memory, this thread's views of the peer records, its stats block and
 * activity ring, the transport AEAD, and a way to post the rare events to the main thread.
 * worker.ts builds one from its workerData; unit tests build one over a SharedState in-process.
 */
import { EventQueue } from "./events.js";
import { SessionTable, type BatchTransportAead, type DropReason } from "@wg-ts/core";
import { ActivityWriter } from "./activity.js";
import { sum16Ranges, type SumRanges } from "./checksum.js";
import {
  DROP_REASONS, RING, STATS_WORDS, ST, dropWord, statsBlock, type SharedBuffers, type Tier, type WorkerDropReason, type WorkerEvent,
} from "./shared.js";
import type { DatagramBatch, TunDevice, UdpDevice } from "./devices.js";
import { VNET_HDR_LEN } from "./tun.js";
import { PeerRecords, PeerViews, Snapshot } from "./views.js";

/** The pipelines' settings. */
export interface PipelineOptions {
  mtu: number;
  /** The TUN has IFF_VNET_HDR: every read and write starts with a virtio_net_hdr. */
  offload: boolean;
  /** Datagrams per batch. */
  batch: number;
  /** Reads block (the tx pipeline then sends after every TUN read instead of gathering). */
  blocking: boolean;
  /** Coalesce received TCP segments into GSO super-packets on the TUN write (needs offload). */
  gro: boolean;
  /** Send runs of equal-sized datagrams as one UDP GSO super-datagram (UDP_SEGMENT). */
  udpGso: boolean;
  /** Datagrams per UDP GSO send at most. */
  gsoSegments: number;
  /** The socket has UDP_GRO on: a received buffer may hold several datagrams. */
  udpGro: boolean;
  /**
   * Test only (dataplane/io.ts sets it from WG_TS_TEST_RX_CRASH_AFTER_REPLAYS when NODE_ENV=test): the
   * rx pipeline throws once it has dropped this many datagrams as replays (0: never).
   */
  crashAfterReplays: number;
}

/** Stats word of each drop reason; wg-core reasons the workers do not list count as the closest listed one. */
const DROP_WORD = Object.fromEntries(DROP_REASONS.map((r) => [r, dropWord(r)])) as Record<string, number>;

/** One pipeline's stats block (shared.ts ST and drop words). */
export class PipelineStats {
  constructor(readonly f: Float64Array) {}
  /** Counts one drop: the total and its reason's word. */
  drop(reason: DropReason | WorkerDropReason): void {
    this.f[ST.drops]!++;
    this.f[DROP_WORD[reason] ?? dropWord("decrypt-failed")]!++;
  }
}

export class PipelineContext {
  readonly table: SessionTable;
  readonly records: PeerRecords;
  readonly views: PeerViews;
  readonly stats: PipelineStats;
  readonly activity: ActivityWriter;
  /** The events of this pipeline's packet path, for its loop to {@link post} once a step is done (events.ts). */
  readonly events = new EventQueue();

  /**
   * @param role the pipeline: its activity ring (shared by the tiers, which never run at once) and,
   *   with `tier`, its stats block
   * @param post hands an event to the main thread (the loop drains {@link events} into it)
   * @param sums the range checksum TSO segmentation uses (the native addon's where it loads)
   */
  constructor(
    readonly shared: SharedBuffers,
    readonly role: "tx" | "rx",
    readonly aead: BatchTransportAead,
    readonly post: (e: WorkerEvent) => void,
    readonly tier: Tier = "worker",
    readonly sums: SumRanges = sum16Ranges,
  ) {
    this.table = SessionTable.attach(shared.table);
    this.records = new PeerRecords(shared.peers);
    this.views = new PeerViews(this.records);
    this.stats = new PipelineStats(new Float64Array(shared.stats, statsBlock(tier, role) * STATS_WORDS * 8, STATS_WORDS));
    this.activity = new ActivityWriter(shared.activity, RING[role]);
  }
}

/** wg-core transport message: header (type, receiver index, counter) and Poly1305 tag bytes (whitepaper §5.4.6). */
export const TRANSPORT_HEADER = 16;
export const TRANSPORT_TAG = 16;

/** A copy of view[start, end) in its own small ArrayBuffer (posting a view would clone its whole backing buffer). */
export const copyOf = (view: Uint8Array, start: number, end: number): Uint8Array => Uint8Array.prototype.slice.call(view, start, end);

/** What a pipeline step did: handled input, found none queued, or found the TUN deleted. */
export type StepResult = "busy" | "idle" | "gone";

/** What both pipelines hold: their thread's context, settings and devices, and their own copy of the routes snapshot. */
export abstract class Pipeline<B extends DatagramBatch> {
  /** The routes, MTU and public key as last published (refreshed when the control generation moves). */
  protected readonly snap: Snapshot;
  /** Bytes of virtio-net header before every TUN packet (0 without offload). */
  protected readonly off: number;

  constructor(
    readonly ctx: PipelineContext,
    readonly o: PipelineOptions,
    readonly tun: TunDevice,
    readonly udp: UdpDevice<B>,
  ) {
    this.snap = new Snapshot(ctx.shared);
    this.off = o.offload ? VNET_HDR_LEN : 0;
  }

  /** Handles one read's worth of input. */
  abstract step(): StepResult;
}
