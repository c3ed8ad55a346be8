/**
 * wg-quick(8) configuration files: parse, validate, strip.
 *
 * Accepts what wg-quick + wg(8) accept: sections and keys are case-insensitive, `#` starts a
 * comment, list keys (Address, DNS, AllowedIPs, Pre/PostUp/Down) may be comma-separated and
 * repeated. Every error names the file, the 1-based line and the key:
 * `wg0.conf:3: PrivateKey: Key is not the correct length or format`. Messages never contain a
 * key's value.
 */
import { isIP } from "node:net";
import { basename } from "node:path";
import { CidrFormatError, type EndpointProblem, formatEndpointText, parseEndpointText, parseIpPrefix } from "@wg-ts/core";
import { KeyFormatError, parseBase64Key } from "./keys.js";

/** A `host:port` endpoint as written; `host` may be a name (resolved at `up` time). */
export interface EndpointSpec {
  host: string;
  port: number;
}

export interface InterfaceSection {
  privateKey?: Uint8Array;
  listenPort?: number;
  /** 0 = off */
  fwMark?: number;
  /** CIDRs as written (`10.0.0.1/24`, `fd00::1/64`, or a bare address). */
  addresses: string[];
  dns: string[];
  dnsSearch: string[];
  mtu?: number;
  /** `off`, `auto`, a number or a table name from rt_tables; undefined = auto. */
  table?: string;
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
  saveConfig: boolean;
}

export interface PeerSection {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  allowedIps: string[];
  endpoint?: EndpointSpec;
  /** seconds; 0 = off */
  persistentKeepalive?: number;
  /** line of the [Peer] header, for messages */
  line: number;
}

export interface QuickConfig {
  interface: InterfaceSection;
  peers: PeerSection[];
  /** The lines wg(8) would see (what `wg-quick strip` prints). */
  stripped: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string,
    detail: string,
  ) {
    super(`${file}:${line}: ${key ? `${key}: ` : ""}${detail}`);
    this.name = "ConfigError";
  }
}

/** Interface names wg-quick accepts (and therefore config file stems). */
export const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;

/** Keys wg-quick consumes itself; everything else goes to wg(8). */
const QUICK_KEYS = new Set(["address", "mtu", "dns", "table", "preup", "postup", "predown", "postdown", "saveconfig"]);

function splitList(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseUint(text: string, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 && n <= max ? n : undefined;
}

/**
 * Validates `addr[/prefix]` with wg-core's parser (the one the routing table uses).
 * @returns the text unchanged, or an error message in wg(8)'s words
 */
export function checkCidr(text: string): string | { error: string } {
  try {
    parseIpPrefix(text);
    return text;
  } catch (e) {
    if (!(e instanceof CidrFormatError)) throw e;
    return { error: e.problem === "address" ? `invalid IP address \`${text}'` : `invalid prefix length in \`${text}'` };
  }
}

/** How a config error words each way endpoint text can be wrong (wg-core's {@link EndpointProblem}). */
const ENDPOINT_ERRORS: Record<EndpointProblem, string> = {
  brackets: "unable to parse endpoint",
  "no-port": "unable to find port of endpoint",
  "ipv6-address": "invalid IPv6 address in endpoint",
  "ipv6-unbracketed": "IPv6 endpoints need brackets:",
  host: "invalid host in endpoint",
  port: "invalid port in endpoint",
};

/** Parses `host:port` / `[v6]:port` with wg-core's endpoint parser; the host may be a name, the port is 1..65535. */
export function parseEndpoint(text: string): EndpointSpec | { error: string } {
  const ep = parseEndpointText(text);
  if ("problem" in ep) return { error: `${ENDPOINT_ERRORS[ep.problem]} \`${text}'` };
  if (ep.port === 0) return { error: `${ENDPOINT_ERRORS.port} \`${text}'` };
  return { host: ep.host, port: ep.port };
}

/** Formats an endpoint with IPv6 brackets. */
export function formatEndpoint(e: { address?: string; host?: string; port: number }): string {
  return formatEndpointText(e.address ?? e.host ?? "", e.port);
}

/**
 * Parses a wg-quick configuration.
 * @param text the file content
 * @param file the name used in messages (usually the basename)
 * @throws ConfigError on the first invalid line
 */
export function parseConfig(text: string, file = "config"): QuickConfig {
  const iface: InterfaceSection = {
    addresses: [],
    dns: [],
    dnsSearch: [],
    preUp: [],
    postUp: [],
    preDown: [],
    postDown: [],
    saveConfig: false,
  };
  const peers: PeerSection[] = [];
  let section: "none" | "interface" | "peer" = "none";
  let peer: (Partial<PeerSection> & { line: number; allowedIps: string[] }) | undefined;
  const stripped: string[] = [];

  const finishPeer = (): void => {
    if (!peer) return;
    if (!peer.publicKey) throw new ConfigError(file, peer.line, "[Peer]", "A peer is missing a public key");
    peers.push(peer as PeerSection);
    peer = undefined;
  };

  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const hash = raw.indexOf("#");
    const content = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (content === "") {
      stripped.push(raw);
      return;
    }
    if (content.startsWith("[")) {
      const name = content.toLowerCase();
      if (name === "[interface]") {
        finishPeer();
        section = "interface";
      } else if (name === "[peer]") {
        finishPeer();
        section = "peer";
        peer = { line: lineNo, allowedIps: [] };
      } else {
        throw new ConfigError(file, lineNo, "", `Line unrecognized: \`${content}'`);
      }
      stripped.push(raw);
      return;
    }
    const eq = content.indexOf("=");
    if (eq < 0) throw new ConfigError(file, lineNo, "", `Line unrecognized: \`${content}'`);
    const key = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    const lkey = key.toLowerCase();
    const fail = (detail: string): never => {
      throw new ConfigError(file, lineNo, key, detail);
    };
    const key32 = (): Uint8Array => {
      try {
        return parseBase64Key(value);
      } catch (e) {
        if (e instanceof KeyFormatError) return fail(e.message);
        throw e;
      }
    };
    /** The value as a list of CIDRs (Address, AllowedIPs), each checked, as written. */
    const cidrs = (): string[] =>
      splitList(value).map((a) => {
        const ok = checkCidr(a);
        return typeof ok === "string" ? ok : fail(ok.error);
      });

    if (section === "interface") {
      if (!QUICK_KEYS.has(lkey)) stripped.push(raw);
      switch (lkey) {
        case "privatekey":
          iface.privateKey = key32();
          return;
        case "listenport": {
          const port = parseUint(value, 65535);
          if (port === undefined) fail(`invalid port \`${value}'`);
          iface.listenPort = port!;
          return;
        }
        case "fwmark": {
          if (value.toLowerCase() === "off") {
            iface.fwMark = 0;
            return;
          }
          const mark = parseUint(value, 0xffffffff);
          if (mark === undefined) fail(`invalid fwmark \`${value}'`);
          iface.fwMark = mark!;
          return;
        }
        case "address":
          iface.addresses.push(...cidrs());
          return;
        case "dns":
          for (const d of splitList(value)) {
            if (isIP(d) !== 0) iface.dns.push(d);
            else iface.dnsSearch.push(d);
          }
          return;
        case "mtu": {
          const mtu = parseUint(value, 65535);
          if (mtu === undefined || mtu < 576 || value.startsWith("0x")) fail(`invalid MTU \`${value}'`);
          iface.mtu = mtu!;
          return;
        }
        case "table":
          if (!/^[A-Za-z0-9_.-]+$/.test(value)) fail(`invalid table \`${value}'`);
          iface.table = value;
          return;
        case "preup":
          iface.preUp.push(value);
          return;
        case "postup":
          iface.postUp.push(value);
          return;
        case "predown":
          iface.preDown.push(value);
          return;
        case "postdown":
          iface.postDown.push(value);
          return;
        case "saveconfig": {
          const v = value.toLowerCase();
          if (v === "true") iface.saveConfig = true;
          else if (v === "false") iface.saveConfig = false;
          else fail(`must be true or false, not \`${value}'`);
          return;
        }
        default:
          fail(`Line unrecognized: \`${content}'`);
      }
    } else if (section === "peer" && peer) {
      stripped.push(raw);
      switch (lkey) {
        case "publickey": {
          const publicKey = key32();
          // wg would silently merge two sections with one key; an operator mistake, so refuse it.
          const dup = peers.find((q) => Buffer.from(q.publicKey).equals(publicKey));
          if (dup) fail(`duplicate peer: the same public key as the [Peer] at line ${dup.line}`);
          peer.publicKey = publicKey;
          return;
        }
        case "presharedkey":
          peer.presharedKey = key32();
          return;
        case "allowedips":
          peer.allowedIps.push(...cidrs());
          return;
        case "endpoint": {
          const ep = parseEndpoint(value);
          if ("error" in ep) fail(ep.error);
          peer.endpoint = ep as EndpointSpec;
          return;
        }
        case "persistentkeepalive": {
          if (value.toLowerCase() === "off") {
            peer.persistentKeepalive = 0;
            return;
          }
          const s = parseUint(value, 65535);
          if (s === undefined || value.startsWith("0x")) fail(`invalid persistent keepalive \`${value}'`);
          peer.persistentKeepalive = s!;
          return;
        }
        default:
          fail(`Line unrecognized: \`${content}'`);
      }
    } else {
      fail(`Line unrecognized (outside of a section): \`${content}'`);
    }
  });
  finishPeer();
  return { interface: iface, peers, stripped: stripped.length ? stripped.join("\n") + "\n" : "" };
}

/**
 * Where a `wg-ts up` argument points: a bare interface name means /etc/wireguard/NAME.conf;
 * a path must end in `IFNAME.conf`.
 */
export function resolveConfigPath(arg: string, dir = "/etc/wireguard"): { path: string; name: string } {
  const path = INTERFACE_NAME.test(arg) && !arg.endsWith(".conf") ? `${dir}/${arg}.conf` : arg;
  const m = /(?:^|\/)([a-zA-Z0-9_=+.-]{1,15})\.conf$/.exec(path);
  if (!m?.[1]) {
    throw new Error(`The config file must be a valid interface name, followed by .conf: \`${arg}'`);
  }
  return { path, name: m[1] };
}

/** The name used in messages for a path (wg-quick style: the file's basename). */
export function configLabel(path: string): string {
  return basename(path);
}
