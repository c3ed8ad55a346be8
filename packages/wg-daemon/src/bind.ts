/**
 * The network side: a batch-aware UDP bind (like wireguard-go conn/conn.go) over node:dgram,
 * one IPv4 and one IPv6-only socket on the same port, with SO_MARK for policy routing; plus an
 * in-memory fake pair for unit tests.
 *
 * Datagrams that arrive during one event-loop turn are delivered together (one `onBatch` call
 * per turn), so the device decrypts a batch and writes the TUN once per batch.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { SO_MARK, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SOL_SOCKET, setsockoptInt } from "./libc.js";

/**
 * Socket buffers, as wireguard-go sets them (conn/bind_std.go socketBufferSize, 7 MiB with the
 * FORCE variants when privileged): with the default ~208 KiB a TCP burst through the tunnel
 * overflowed the receive queue while the event loop was busy (measured: 9572 UdpRcvbufErrors,
 * ~16% of datagrams, in a 5 s iperf3 run).
 */
const SOCKET_BUFFER = 7 << 20;

export interface Endpoint {
  address: string;
  port: number;
}

export interface Datagram {
  datagram: Uint8Array;
  endpoint: Endpoint;
}

export interface Bind {
  /** Binds both families to `port` (0 = any free port, the same for both); returns the port. */
  open(port: number): Promise<number>;
  readonly port: number;
  /** Sets SO_MARK on every socket (0 clears it). */
  setMark(mark: number): void;
  send(batch: readonly Datagram[], count?: number): void;
  /** Receives batches; the array is reused after the callback returns. */
  onBatch: (batch: Datagram[], count: number) => void;
  close(): void;
}

/** dgram hides the fd; its internal state object holds the native handle. */
function socketFd(socket: Socket): number {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  const state = sym ? (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym] : undefined;
  const fd = state?.handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("cannot find the UDP socket's file descriptor");
  return fd;
}

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once("error", onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

export class UdpBind implements Bind {
  private v4: Socket | undefined;
  private v6: Socket | undefined;
  private mark = 0;
  port = 0;
  onBatch: (batch: Datagram[], count: number) => void = () => {};
  /** receive errors and send errors, counted (never thrown) */
  sendErrors = 0;
  private readonly pending: Datagram[] = [];
  private pendingCount = 0;
  private flushScheduled = false;

  /** Binds new sockets first and swaps them in only on success: a failed rebind keeps the old port. */
  async open(port: number): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const v4 = createSocket({ type: "udp4", reuseAddr: false });
      const v6 = createSocket({ type: "udp6", ipv6Only: true, reuseAddr: false });
      try {
        await bindSocket(v4, port, "0.0.0.0");
        const actual = v4.address().port;
        try {
          await bindSocket(v6, actual, "::");
        } catch (e) {
          // No IPv6 in this namespace is fine; a port clash on a random port: retry.
          const code = (e as NodeJS.ErrnoException).code;
          v6.close();
          if (code === "EADDRINUSE" && port === 0) {
            v4.close();
            continue;
          }
          if (code !== "EAFNOSUPPORT" && code !== "EADDRNOTAVAIL") {
            v4.close();
            throw e;
          }
          this.attach(v4, undefined, actual);
          return actual;
        }
        this.attach(v4, v6, actual);
        return actual;
      } catch (e) {
        try {
          v4.close();
        } catch {
          /* already closed */
        }
        throw e;
      }
    }
    throw new Error("could not find a free UDP port for both IPv4 and IPv6");
  }

  private attach(v4: Socket, v6: Socket | undefined, port: number): void {
    this.close();
    this.v4 = v4;
    this.v6 = v6;
    this.port = port;
    for (const s of [v4, v6]) {
      if (!s) continue;
      s.on("message", (msg, rinfo) => this.enqueue(msg, rinfo.address, rinfo.port));
      s.on("error", () => this.sendErrors++);
      const fd = socketFd(s);
      try {
        setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER, "SO_RCVBUFFORCE");
        setsockoptInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER, "SO_SNDBUFFORCE");
      } catch {
        // not privileged: fall back to what rmem_max/wmem_max allow
        s.setRecvBufferSize(SOCKET_BUFFER);
        s.setSendBufferSize(SOCKET_BUFFER);
      }
    }
    if (this.mark) this.setMark(this.mark);
  }

  private enqueue(msg: Buffer, address: string, port: number): void {
    const item = this.pending[this.pendingCount];
    // strip an IPv4-mapped prefix should one ever appear; v6 sockets are v6-only
    if (item) {
      item.datagram = msg;
      item.endpoint = { address, port };
    } else {
      this.pending.push({ datagram: msg, endpoint: { address, port } });
    }
    this.pendingCount++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        const n = this.pendingCount;
        this.pendingCount = 0;
        if (n > 0) this.onBatch(this.pending, n);
      });
    }
  }

  setMark(mark: number): void {
    this.mark = mark >>> 0;
    for (const s of [this.v4, this.v6]) if (s) setsockoptInt(socketFd(s), SOL_SOCKET, SO_MARK, this.mark, "SO_MARK");
  }

  send(batch: readonly Datagram[], count = batch.length): void {
    for (let i = 0; i < count; i++) {
      const d = batch[i]!;
      const sock = isIP(d.endpoint.address) === 6 ? this.v6 : this.v4;
      if (!sock) {
        this.sendErrors++;
        continue;
      }
      try {
        // No per-packet callback: asynchronous send errors arrive as 'error' events (counted).
        sock.send(d.datagram, d.endpoint.port, d.endpoint.address);
      } catch {
        this.sendErrors++; // e.g. port 0 or a malformed address: counted, never thrown
      }
    }
  }

  close(): void {
    for (const s of [this.v4, this.v6]) {
      try {
        s?.close();
      } catch {
        /* already closed */
      }
    }
    this.v4 = this.v6 = undefined;
  }
}

/** In-memory bind for unit tests: two connected with `MemoryBind.pair()` deliver to each other. */
export class MemoryBind implements Bind {
  port = 0;
  mark = 0;
  peer: MemoryBind | undefined;
  readonly sent: Datagram[] = [];
  onBatch: (batch: Datagram[], count: number) => void = () => {};

  constructor(readonly address = "127.0.0.1") {}

  static pair(a = "10.0.0.1", b = "10.0.0.2"): [MemoryBind, MemoryBind] {
    const x = new MemoryBind(a);
    const y = new MemoryBind(b);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  async open(port: number): Promise<number> {
    this.port = port || 40000 + Math.floor(Math.random() * 1000);
    return this.port;
  }

  setMark(mark: number): void {
    this.mark = mark;
  }

  send(batch: readonly Datagram[], count = batch.length): void {
    const items: Datagram[] = [];
    for (let i = 0; i < count; i++) {
      const d = batch[i]!;
      this.sent.push(d);
      items.push({ datagram: d.datagram.slice(), endpoint: { address: this.address, port: this.port } });
    }
    const to = this.peer;
    if (to) queueMicrotask(() => to.onBatch(items, items.length));
  }

  close(): void {
    this.peer = undefined;
  }
}
