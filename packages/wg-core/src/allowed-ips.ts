/**
 * Cryptokey routing (whitepaper §2): the table from IP prefixes to peers. Outgoing packets pick the
 * peer whose allowed IPs contain the destination (longest prefix wins); incoming packets are dropped
 * unless their source address routes back to the peer that sent them.
 *
 * Like wireguard-go `device/allowedips.go`, each address family is a path-compressed binary trie:
 * every node holds a masked prefix, an optional owner, and two children chosen by the first bit after
 * the prefix; each owner also keeps the list of its prefixes in insertion order, so removing a peer
 * costs its own prefixes, not the table. Initial state: empty (every lookup returns undefined).
 * Guarantees: a prefix has at most one owner (inserting an identical prefix replaces the owner, as
 * `wg set ... allowed-ips` moves it between peers); lookups are longest-prefix match over the masked
 * prefixes, read the address straight from the packet and allocate nothing; a truncated or non-IP
 * packet yields undefined, never an exception.
 *
 * This module is also the one parser of IP address and prefix text in the project ({@link parseCidr},
 * {@link parseIpPrefix}, {@link parseIpAddress}, {@link parseIpLiteral}): the daemon's config, the
 * UAPI, wg-deploy's topology and mesh database and endpoint.ts all use it, so they accept the same
 * addresses as the routing table.
 */

/**
 * An address with a prefix length, host bits kept (`10.1.0.1/16`), like Go's `netip.Prefix`:
 * what a wg-quick `Address =` line means (the address 10.1.0.1 on the subnet 10.1.0.0/16).
 */
export interface IpPrefix {
  family: 4 | 6;
  /** 4- or 16-byte address as written (host bits not cleared). */
  address: Uint8Array;
  /** Prefix length: 0..32 (IPv4) or 0..128 (IPv6); 32 or 128 when none was written. */
  bits: number;
  /** True when the text had a `/bits` part. */
  lengthWritten: boolean;
}

/** A parsed CIDR prefix with its host bits cleared. */
export interface Cidr {
  family: 4 | 6;
  /** 4- or 16-byte network address, host bits zero. */
  bytes: Uint8Array;
  /** Prefix length: 0..32 (IPv4) or 0..128 (IPv6). */
  bits: number;
}

/**
 * Thrown by {@link parseIpAddress}, {@link parseIpPrefix} and {@link parseCidr}. The message names
 * the input; the fields let a caller word its own message (a config line, a spreadsheet cell).
 */
export class CidrFormatError extends Error {
  override name = "CidrFormatError";
  constructor(
    message: string,
    /** The text that was refused. */
    readonly input: string,
    /** What is wrong: the address, or the prefix length after the `/`. */
    readonly problem: "address" | "prefix-length",
    /** The family the text was read as: 6 when the address part contains ':', else 4. */
    readonly family: 4 | 6,
  ) {
    super(message);
  }
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!IPV4_OCTET.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6Groups(s: string): number[] | null {
  if (s === "") return [];
  const groups: number[] = [];
  for (const g of s.split(":")) {
    if (!IPV6_GROUP.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

function parseIpv6(s: string): Uint8Array | null {
  let text = s;
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) >= 0) {
    // Embedded IPv4 in the last 32 bits (RFC 4291 §2.2 form 3).
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === null) return null;
    text = `${text.slice(0, lastColon + 1)}${((tail[0]! << 8) | tail[1]!).toString(16)}:${((tail[2]! << 8) | tail[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  let groups: number[];
  if (halves.length === 1) {
    const all = parseIpv6Groups(text);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0]!);
    const rest = parseIpv6Groups(halves[1]!);
    if (head === null || rest === null || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    return null;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >>> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Clears every bit after the first `bits` (in place). */
function maskInPlace(bytes: Uint8Array, bits: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const keep = bits - i * 8;
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : bytes[i]! & ((0xff00 >> keep) & 0xff);
  }
  return bytes;
}

/** Reads `address[/bits]` from `text` exactly (no trimming); messages name `input`. */
function readPrefix(text: string, input: string): IpPrefix {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const family: 4 | 6 = addrText.includes(":") ? 6 : 4;
  const address = parseIpLiteral(addrText);
  if (address === null) {
    throw new CidrFormatError(
      `${JSON.stringify(input)}: ${JSON.stringify(addrText)} is not an ${family === 6 ? "IPv6" : "IPv4"} address`,
      input,
      "address",
      family,
    );
  }
  const max = family === 6 ? 128 : 32;
  if (slash < 0) return { family, address, bits: max, lengthWritten: false };
  const bitsText = text.slice(slash + 1);
  if (!PREFIX_LENGTH.test(bitsText) || Number(bitsText) > max) {
    throw new CidrFormatError(
      `${JSON.stringify(input)}: the prefix length must be an integer from 0 to ${max}`,
      input,
      "prefix-length",
      family,
    );
  }
  return { family, address, bits: Number(bitsText), lengthWritten: true };
}

/**
 * The 4 (IPv4) or 16 (IPv6) bytes of an address literal, or null: the one rule for address text.
 * IPv4 is a dotted quad without leading zeros; IPv6 is RFC 4291 §2.2 text, embedded IPv4 allowed
 * (IPv4-mapped stays 16 bytes). Text with a ':' is read as IPv6. No prefix length, zone
 * (`%eth0`), brackets or white space.
 */
export function parseIpLiteral(text: string): Uint8Array | null {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/**
 * Parses one IPv4 or IPv6 address ({@link parseIpLiteral}).
 * @returns 4 or 16 bytes
 * @throws CidrFormatError naming the input
 */
export function parseIpAddress(text: string): Uint8Array {
  const address = parseIpLiteral(text);
  if (address === null) {
    const family: 4 | 6 = text.includes(":") ? 6 : 4;
    throw new CidrFormatError(`${JSON.stringify(text)} is not an ${family === 6 ? "IPv6" : "IPv4"} address`, text, "address", family);
  }
  return address;
}

/**
 * Parses "address/bits" or a bare address (meaning /32 or /128) and keeps the host bits, as a
 * wg-quick `Address = 10.1.0.1/16` line needs. The text must be exact: no white space.
 * @throws CidrFormatError naming the bad input and what is wrong with it
 */
export function parseIpPrefix(text: string): IpPrefix {
  return readPrefix(text, text);
}

/**
 * Parses "address/bits" (or a bare address, meaning /32 or /128) and clears the host bits, as
 * `wg set ... allowed-ips 10.0.0.1/24` stores 10.0.0.0/24. Surrounding whitespace is ignored.
 * @throws CidrFormatError naming the bad input and what is wrong with it
 */
export function parseCidr(s: string): Cidr {
  if (typeof s !== "string") throw new CidrFormatError("CIDR: expected a string like 10.0.0.0/24", String(s), "address", 4);
  const { family, address, bits } = readPrefix(s.trim(), s);
  return { family, bytes: maskInPlace(address, bits), bits };
}

/** The text of an IPv4 or IPv6 address (IPv6 as glibc `inet_ntop`, which `wg show` uses: RFC 5952). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // Longest run of ≥ 2 zero words becomes "::" (the first one on a tie).
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    // IPv4-compatible / IPv4-mapped addresses end in dotted quad, like inet_ntop.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ":";
  return out;
}

/** "address/bits". */
export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.bytes)}/${cidr.bits}`;
}

/**
 * A prefix as four big-endian 32-bit words, int32 (an IPv4 address in the first, the others 0):
 * trie nodes keep these numbers, not a byte array each — with 10,000 prefixes a Uint8Array per
 * node was most of the table's memory.
 */
type Key = readonly [number, number, number, number];

/** The 32-bit big-endian word at buf[off..] (as int32). */
function wordAt(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

/** The key of a 4- or 16-byte address. */
function keyOf(bytes: Uint8Array): Key {
  if (bytes.length === 4) return [wordAt(bytes, 0), 0, 0, 0];
  return [wordAt(bytes, 0), wordAt(bytes, 4), wordAt(bytes, 8), wordAt(bytes, 12)];
}

/** `k` with every bit after the first `bits` cleared. */
function maskKey(k: Key, bits: number): Key {
  const m = (i: number): number => {
    const keep = bits - 32 * i;
    return keep >= 32 ? k[i]! : keep <= 0 ? 0 : k[i]! & (~0 << (32 - keep));
  };
  return [m(0), m(1), m(2), m(3)];
}

/** Bit `i` (0 = most significant) of key `k`. */
function keyBit(k: Key, i: number): number {
  return (k[i >>> 5]! >>> (31 - (i & 31))) & 1;
}

/** Bit `i` (0 = most significant) of the address at buf[off..]. */
function bitAt(buf: Uint8Array, off: number, i: number): number {
  return (buf[off + (i >>> 3)]! >>> (7 - (i & 7))) & 1;
}

/** Marks "nothing removed" (an owner may itself be undefined). */
const NOT_REMOVED: unique symbol = Symbol("not removed");

/** One trie node: a masked prefix (its {@link Key} words), maybe an owner, and the subtrees for the next bit 0 / 1. */
class TrieNode<T> {
  child0: TrieNode<T> | null = null;
  child1: TrieNode<T> | null = null;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  constructor(
    key: Key,
    readonly cidr: number,
    public owned: boolean,
    public value: T | undefined,
  ) {
    this.w0 = key[0];
    this.w1 = key[1];
    this.w2 = key[2];
    this.w3 = key[3];
  }

  /** Word `i` of the prefix. */
  word(i: number): number {
    return i === 0 ? this.w0 : i === 1 ? this.w1 : i === 2 ? this.w2 : this.w3;
  }

  /** Bit `i` of the prefix. */
  bit(i: number): number {
    return (this.word(i >>> 5) >>> (31 - (i & 31))) & 1;
  }
}

/** Number of leading bits the node's prefix and `k` share, at most `max`. */
function commonBits(node: TrieNode<unknown>, k: Key, max: number): number {
  for (let i = 0; i < 4; i++) {
    const x = node.word(i) ^ k[i]!;
    if (x !== 0) return Math.min(max, i * 32 + Math.clz32(x));
  }
  return max;
}

/** True if the address at buf[off..] lies inside node's prefix. */
function contains(node: TrieNode<unknown>, buf: Uint8Array, off: number): boolean {
  const full = node.cidr >>> 5;
  for (let i = 0; i < full; i++) if (node.word(i) !== wordAt(buf, off + 4 * i)) return false;
  const rest = node.cidr & 31;
  return rest === 0 || (wordAt(buf, off + 4 * full) & (~0 << (32 - rest))) === node.word(full);
}

/** The owner an insert displaced, if any. */
interface Displaced<T> {
  owned: boolean;
  value: T | undefined;
}

function insertAt<T>(node: TrieNode<T> | null, key: Key, cidr: number, value: T, prev: Displaced<T>): TrieNode<T> {
  if (node === null) return new TrieNode(key, cidr, true, value);
  const common = commonBits(node, key, Math.min(node.cidr, cidr));
  if (common === node.cidr) {
    if (cidr === node.cidr) {
      prev.owned = node.owned;
      prev.value = node.value;
      node.owned = true; // identical prefix: the new owner replaces the old one
      node.value = value;
    } else if (keyBit(key, node.cidr) === 1) {
      node.child1 = insertAt(node.child1, key, cidr, value, prev);
    } else {
      node.child0 = insertAt(node.child0, key, cidr, value, prev);
    }
    return node;
  }
  if (common === cidr) {
    // The new prefix contains the node's: it becomes the node's parent.
    const parent = new TrieNode(key, cidr, true, value);
    if (node.bit(cidr) === 1) parent.child1 = node;
    else parent.child0 = node;
    return parent;
  }
  // They diverge at bit `common`: a value-less branch node takes both.
  const branch = new TrieNode<T>(maskKey(key, common), common, false, undefined);
  const leaf = new TrieNode(key, cidr, true, value);
  if (node.bit(common) === 1) {
    branch.child1 = node;
    branch.child0 = leaf;
  } else {
    branch.child0 = node;
    branch.child1 = leaf;
  }
  return branch;
}

/** Removes value-less nodes with fewer than two children (keeps the trie path-compressed). */
function collapse<T>(node: TrieNode<T>): TrieNode<T> | null {
  if (node.owned || (node.child0 !== null && node.child1 !== null)) return node;
  return node.child0 ?? node.child1;
}

export class AllowedIps<T> {
  #root4: TrieNode<T> | null = null;
  #root6: TrieNode<T> | null = null;
  /** Each owner's prefixes ("10.0.0.0/24") in the order they were added (like wireguard-go's per-peer list). */
  readonly #byOwner = new Map<T, Set<string>>();

  /** Routes `cidr` to `value`, replacing the owner of an identical prefix. @throws CidrFormatError */
  insert(cidr: string, value: T): void {
    const c = parseCidr(cidr);
    const prev: Displaced<T> = { owned: false, value: undefined };
    if (c.family === 4) this.#root4 = insertAt(this.#root4, keyOf(c.bytes), c.bits, value, prev);
    else this.#root6 = insertAt(this.#root6, keyOf(c.bytes), c.bits, value, prev);
    if (prev.owned && prev.value === value) return; // already this owner's: keeps its place
    const key = formatCidr(c);
    if (prev.owned) this.#forget(prev.value as T, key);
    let list = this.#byOwner.get(value);
    if (list === undefined) this.#byOwner.set(value, (list = new Set()));
    list.add(key);
  }

  /**
   * Removes the prefix `cidr` (host bits ignored); only if it belongs to `value` when one is given.
   * @returns true if a prefix was removed
   * @throws CidrFormatError
   */
  remove(cidr: string, value?: T): boolean {
    const c = parseCidr(cidr);
    const owner = this.#removePrefix(c, arguments.length > 1, value);
    if (owner === NOT_REMOVED) return false;
    this.#forget(owner as T, formatCidr(c));
    return true;
  }

  /** Removes every prefix owned by `value` (a peer being removed), in O(its prefixes × depth). */
  removeValue(value: T): void {
    const list = this.#byOwner.get(value);
    if (list === undefined) return;
    for (const key of list) this.#removePrefix(parseCidr(key), true, value);
    this.#byOwner.delete(value);
  }

  /** Unlinks one exact prefix; returns its former owner, or NOT_REMOVED. Leaves #byOwner alone. */
  #removePrefix(c: Cidr, onlyIfOwnedBy: boolean, value: T | undefined): T | undefined | typeof NOT_REMOVED {
    let removed: T | undefined | typeof NOT_REMOVED = NOT_REMOVED;
    const key = keyOf(c.bytes);
    const walk = (node: TrieNode<T> | null): TrieNode<T> | null => {
      if (node === null || commonBits(node, key, node.cidr) < node.cidr || node.cidr > c.bits) return node;
      if (node.cidr === c.bits) {
        if (!node.owned || (onlyIfOwnedBy && node.value !== value)) return node;
        removed = node.value;
        node.owned = false;
        node.value = undefined;
        return collapse(node);
      }
      if (keyBit(key, node.cidr) === 1) node.child1 = walk(node.child1);
      else node.child0 = walk(node.child0);
      return collapse(node);
    };
    if (c.family === 4) this.#root4 = walk(this.#root4);
    else this.#root6 = walk(this.#root6);
    return removed;
  }

  #forget(owner: T, key: string): void {
    const list = this.#byOwner.get(owner);
    if (list === undefined) return;
    list.delete(key);
    if (list.size === 0) this.#byOwner.delete(owner);
  }

  /**
   * The peer for an IP packet's source or destination address. Reads the version nibble, then the
   * address at offset 12/16 (IPv4, needs 20 bytes) or 8/24 (IPv6, needs 40 bytes).
   * @param at where the packet starts in `packet`; `length` bytes of it are valid (default: the rest)
   * @returns the owner of the longest matching prefix; undefined if none or the packet is not IP
   */
  lookup(packet: Uint8Array, which: "src" | "dst", at = 0, length = packet.length - at): T | undefined {
    if (length <= 0) return undefined;
    const version = packet[at]! >>> 4;
    if (version === 4) {
      if (length < 20) return undefined;
      return lookupAt(this.#root4, packet, at + (which === "src" ? 12 : 16), 32);
    }
    if (version === 6) {
      if (length < 40) return undefined;
      return lookupAt(this.#root6, packet, at + (which === "src" ? 8 : 24), 128);
    }
    return undefined;
  }

  /** @param addr 4-byte IPv4 or 16-byte IPv6 address; any other length gives undefined */
  lookupAddress(addr: Uint8Array): T | undefined {
    if (addr.length === 4) return lookupAt(this.#root4, addr, 0, 32);
    if (addr.length === 16) return lookupAt(this.#root6, addr, 0, 128);
    return undefined;
  }

  /** The prefixes owned by `value` ("10.0.0.0/24"), in the order they were added (as `wg show` lists them). */
  entries(value: T): string[] {
    return [...(this.#byOwner.get(value)?.keys() ?? [])];
  }

  /** True when no prefix is routed. Removals keep the tries compacted, so this is O(1). */
  isEmpty(): boolean {
    return this.#root4 === null && this.#root6 === null;
  }

  /** Removes every prefix. */
  clear(): void {
    this.#root4 = null;
    this.#root6 = null;
    this.#byOwner.clear();
  }
}

function lookupAt<T>(root: TrieNode<T> | null, buf: Uint8Array, off: number, addrBits: number): T | undefined {
  let found: T | undefined;
  let node = root;
  while (node !== null && contains(node, buf, off)) {
    if (node.owned) found = node.value;
    if (node.cidr === addrBits) break;
    node = bitAt(buf, off, node.cidr) === 1 ? node.child1 : node.child0;
  }
  return found;
}
