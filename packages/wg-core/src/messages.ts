/**
 * The four WireGuard message formats (whitepaper §5.4.2, §5.4.3, §5.4.7, §5.4.6): their type
 * numbers, sizes and field offsets, and allocation-free readers/writers.
 *
 * Every message begins with a little-endian u32 whose low byte is the type and whose upper three
 * bytes ("reserved") are zero; like wireguard-go we read the whole u32, so non-zero reserved bytes
 * make an unknown type. Handshake messages have exact sizes; transport messages are ≥ 32 bytes.
 * The readers assume the caller has already checked the length with {@link classifyMessage}.
 */
import { MAX_SEGMENT_SIZE } from "./constants.js";

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

/** type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16) */
export const INITIATION_SIZE = 148;
/** type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16) */
export const RESPONSE_SIZE = 92;
/** type(4) receiver(4) nonce(24) cookie(16+16) */
export const COOKIE_REPLY_SIZE = 64;
/** type(4) receiver(4) counter(8) */
export const TRANSPORT_HEADER_SIZE = 16;
/** A keepalive: header + the 16-byte tag of an empty payload. */
export const TRANSPORT_MIN_SIZE = 32;
/** Largest inner packet a transport message can carry (wireguard-go MaxContentSize). */
export const MAX_CONTENT_SIZE = MAX_SEGMENT_SIZE - TRANSPORT_MIN_SIZE;

/** Offsets inside a handshake initiation. */
export const InitiationLayout = {
  sender: 4,
  ephemeral: 8,
  static: 40,
  staticLength: 48,
  timestamp: 88,
  timestampLength: 28,
  mac1: 116,
  mac2: 132,
} as const;

/** Offsets inside a handshake response. */
export const ResponseLayout = {
  sender: 4,
  receiver: 8,
  ephemeral: 12,
  empty: 44,
  emptyLength: 16,
  mac1: 60,
  mac2: 76,
} as const;

/** Offsets inside a cookie reply. */
export const CookieReplyLayout = { receiver: 4, nonce: 8, cookie: 32, cookieLength: 32 } as const;

/** Offsets inside a transport message. */
export const TransportLayout = { receiver: 4, counter: 8, payload: 16 } as const;

/** Result of {@link classifyMessage}: a message type, or why the datagram is not a valid message. */
export type MessageClass = 1 | 2 | 3 | 4 | "truncated" | "invalid-size" | "oversized" | "unknown-type";

/**
 * Classifies a datagram by its type field and checks its size. Never throws.
 * Handshake and cookie messages must have their exact size; transport messages 32..65535 bytes.
 * `start`/`end` select the datagram inside a larger buffer (a receive batch) without a view.
 */
export function classifyMessage(d: Uint8Array, start = 0, end = d.length): MessageClass {
  const n = end - start;
  if (n < 4) return "truncated";
  const type = readU32(d, start);
  switch (type) {
    case MESSAGE_INITIATION:
      return n === INITIATION_SIZE ? 1 : n < INITIATION_SIZE ? "truncated" : "invalid-size";
    case MESSAGE_RESPONSE:
      return n === RESPONSE_SIZE ? 2 : n < RESPONSE_SIZE ? "truncated" : "invalid-size";
    case MESSAGE_COOKIE_REPLY:
      return n === COOKIE_REPLY_SIZE ? 3 : n < COOKIE_REPLY_SIZE ? "truncated" : "invalid-size";
    case MESSAGE_TRANSPORT:
      if (n < TRANSPORT_MIN_SIZE) return "truncated";
      return n > MAX_SEGMENT_SIZE ? "oversized" : 4;
    default:
      return "unknown-type";
  }
}

/** Reads a little-endian u32 (indices, type field). */
export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

/** Writes a little-endian u32. */
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

/**
 * Reads a transport counter (64-bit little-endian). Returns -1 when it is ≥ 2^53, which a
 * number cannot represent exactly (see constants.ts); callers drop such messages.
 */
export function readCounter(b: Uint8Array, off: number): number {
  const lo = readU32(b, off);
  const hi = readU32(b, off + 4);
  if (hi >= 0x20_0000) return -1;
  return hi * 0x1_0000_0000 + lo;
}

/** Writes the message header: type in the low byte, three reserved zero bytes. */
export function writeHeader(b: Uint8Array, type: 1 | 2 | 3 | 4): void {
  b[0] = type;
  b[1] = 0;
  b[2] = 0;
  b[3] = 0;
}

/** A datagram split into its fields (views into the datagram, no copies). */
export type ParsedMessage =
  | {
      readonly type: 1;
      readonly sender: number;
      readonly ephemeral: Uint8Array;
      readonly encryptedStatic: Uint8Array;
      readonly encryptedTimestamp: Uint8Array;
      readonly mac1: Uint8Array;
      readonly mac2: Uint8Array;
    }
  | {
      readonly type: 2;
      readonly sender: number;
      readonly receiver: number;
      readonly ephemeral: Uint8Array;
      readonly encryptedNothing: Uint8Array;
      readonly mac1: Uint8Array;
      readonly mac2: Uint8Array;
    }
  | { readonly type: 3; readonly receiver: number; readonly nonce: Uint8Array; readonly encryptedCookie: Uint8Array }
  | { readonly type: 4; readonly receiver: number; readonly counter: number; readonly encryptedPacket: Uint8Array };

/**
 * Parses a datagram into its fields (for tools, logs and tests; the device reads fields in place).
 * Returns the {@link classifyMessage} reason when it is not a well-formed message; a transport
 * counter ≥ 2^53 is reported as -1 (see {@link readCounter}).
 */
export function parseMessage(d: Uint8Array): ParsedMessage | Exclude<MessageClass, number> {
  const cls = classifyMessage(d);
  const v = (off: number, len: number): Uint8Array => d.subarray(off, off + len);
  switch (cls) {
    case 1:
      return {
        type: 1,
        sender: readU32(d, InitiationLayout.sender),
        ephemeral: v(InitiationLayout.ephemeral, 32),
        encryptedStatic: v(InitiationLayout.static, InitiationLayout.staticLength),
        encryptedTimestamp: v(InitiationLayout.timestamp, InitiationLayout.timestampLength),
        mac1: v(InitiationLayout.mac1, 16),
        mac2: v(InitiationLayout.mac2, 16),
      };
    case 2:
      return {
        type: 2,
        sender: readU32(d, ResponseLayout.sender),
        receiver: readU32(d, ResponseLayout.receiver),
        ephemeral: v(ResponseLayout.ephemeral, 32),
        encryptedNothing: v(ResponseLayout.empty, ResponseLayout.emptyLength),
        mac1: v(ResponseLayout.mac1, 16),
        mac2: v(ResponseLayout.mac2, 16),
      };
    case 3:
      return {
        type: 3,
        receiver: readU32(d, CookieReplyLayout.receiver),
        nonce: v(CookieReplyLayout.nonce, 24),
        encryptedCookie: v(CookieReplyLayout.cookie, CookieReplyLayout.cookieLength),
      };
    case 4:
      return {
        type: 4,
        receiver: readU32(d, TransportLayout.receiver),
        counter: readCounter(d, TransportLayout.counter),
        encryptedPacket: d.subarray(TransportLayout.payload),
      };
    default:
      return cls;
  }
}

/**
 * Serializes a transport header (type 4 and three reserved zero bytes, receiver, counter) into the
 * 16 bytes of `out` at `at`.
 * @param counter < 2^53
 */
export function writeTransportHeader(out: Uint8Array, receiver: number, counter: number, at = 0): void {
  writeU32(out, at, MESSAGE_TRANSPORT);
  writeU32(out, at + TransportLayout.receiver, receiver);
  writeU32(out, at + TransportLayout.counter, counter >>> 0);
  writeU32(out, at + TransportLayout.counter + 4, Math.floor(counter / 0x1_0000_0000) >>> 0);
}
