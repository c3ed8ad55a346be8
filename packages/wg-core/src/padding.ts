/**
 * Transport padding (whitepaper §5.4.6: P := P ‖ 0^(16·⌈‖P‖/16⌉ − ‖P‖)), capped at the link MTU
 * like the implementations do (kernel send.c `calculate_skb_padding`, wireguard-go device/send.go
 * `calculatePaddingSize`): rounding up to 16 must not make a packet that fits the MTU exceed it.
 *
 * Pure and stateless; the one home of the rule for every sender (the Device, the fast path's tx
 * worker). Guarantees, for an inner packet of `length` bytes and link MTU `mtu`:
 *  - mtu = 0 (unknown): the length rounded up to a multiple of 16, no cap;
 *  - length ≤ mtu: min(roundUp16(length), mtu), so never more than the MTU;
 *  - length > mtu (should not happen; the references guard against it): padding is computed on
 *    the last MTU-sized unit (length mod mtu), exactly as both references do.
 * The result is always ≥ length and < length + 16.
 */
import { PADDING_MULTIPLE } from "./constants.js";

/**
 * Bytes of zero padding to append to an inner packet (wireguard-go `calculatePaddingSize`).
 * @param length inner packet length in bytes (≥ 0)
 * @param mtu the tunnel interface's MTU in bytes, 0 when unknown
 */
export function paddingSize(length: number, mtu: number): number {
  let lastUnit = length;
  if (mtu === 0) return roundUp(lastUnit) - lastUnit;
  if (lastUnit > mtu) lastUnit %= mtu;
  let padded = roundUp(lastUnit);
  if (padded > mtu) padded = mtu;
  return padded - lastUnit;
}

/**
 * The plaintext length of a transport message carrying `length` inner bytes: `length` plus
 * {@link paddingSize}.
 * @param length inner packet length in bytes (≥ 0)
 * @param mtu the tunnel interface's MTU in bytes, 0 when unknown
 */
export function paddedLength(length: number, mtu: number): number {
  return length + paddingSize(length, mtu);
}

/** ⌈n / 16⌉ · 16 (ALIGN(n, MESSAGE_PADDING_MULTIPLE)). */
function roundUp(n: number): number {
  return Math.ceil(n / PADDING_MULTIPLE) * PADDING_MULTIPLE;
}
