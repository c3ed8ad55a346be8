export function ipv4(s: string): Uint8Array;
export function formatIpv4(b: Uint8Array, off?: number): string;
export function checksum(b: Uint8Array, start?: number, end?: number): number;
export function ipv4Packet(src: string | Uint8Array, dst: string | Uint8Array, proto: number, payload: Uint8Array, ttl?: number): Uint8Array;
export function icmpEcho(
  src: string | Uint8Array,
  dst: string | Uint8Array,
  opts?: { type?: number; id?: number; seq?: number; data?: Uint8Array },
): Uint8Array;
export interface IcmpEcho {
  src: string;
  dst: string;
  type: number;
  id: number;
  seq: number;
  data: Uint8Array;
}
export function parseIcmpEcho(p: Uint8Array): IcmpEcho | null;
export function echoReplyFor(req: IcmpEcho): Uint8Array;
