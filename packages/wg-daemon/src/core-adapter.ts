/**
 * The daemon's view of one wg-core Device: UAPI peer changes (create/update/remove, as
 * wireguard-go's ipcSetPeer applies them) and the state `get=1` reports.
 */
import { Device, type Action, type TransportAead, type X25519Backend } from "@wg-ts/core";
import type { PeerChange, UapiPeerState } from "./uapi-protocol.js";

export type CoreAction = Action;

export class CoreAdapter {
  readonly device: Device;

  constructor(random: (out: Uint8Array) => void, aead?: TransportAead, x25519?: X25519Backend) {
    this.device = new Device({ privateKey: null, random, ...(aead ? { aead } : {}), ...(x25519 ? { x25519 } : {}) });
  }

  encapsulate(packet: Uint8Array, now: number, out: Action[]): void {
    this.device.encapsulate(packet, now, out);
  }

  decapsulate(datagram: Uint8Array, from: { address: string; port: number }, now: number, out: Action[]): void {
    this.device.decapsulate(datagram, from, now, out);
  }

  tick(now: number, out: Action[]): void {
    this.device.tick(now, out);
  }

  /** The private key bytes (for `get=1` only), or null. */
  privateKey(): Uint8Array | null {
    return this.device.privateKey?.bytes ?? null;
  }

  setPrivateKey(key: Uint8Array | null, now: number): void {
    this.device.setPrivateKey(key, now);
  }

  removeAllPeers(): void {
    for (const p of this.device.peers()) this.device.removePeer(p.publicKey);
  }

  /** Applies one peer section of a `set=1` request. */
  applyPeer(change: PeerChange, now: number, _out: Action[]): void {
    const d = this.device;
    // A peer with our own public key is ignored, like wireguard-go's "dummy" peer.
    const own = d.publicKey;
    if (own?.equals(change.publicKey)) return;
    const existing = d.peer(change.publicKey);
    if (change.remove) {
      if (existing) d.removePeer(change.publicKey);
      return;
    }
    if (!existing) {
      if (change.updateOnly) return;
      d.addPeer(
        {
          publicKey: change.publicKey,
          presharedKey: change.presharedKey ?? null,
          endpoint: change.endpoint ?? null,
          allowedIps: change.allowedIps,
          ...(change.persistentKeepalive !== undefined ? { persistentKeepalive: change.persistentKeepalive } : {}),
        },
        now,
      );
      return;
    }
    d.updatePeer(
      change.publicKey,
      {
        ...(change.presharedKey !== undefined ? { presharedKey: change.presharedKey } : {}),
        ...(change.endpoint !== undefined ? { endpoint: change.endpoint } : {}),
        ...(change.persistentKeepalive !== undefined ? { persistentKeepalive: change.persistentKeepalive } : {}),
        allowedIps: change.allowedIps,
        replaceAllowedIps: change.replaceAllowedIps,
      },
      now,
    );
  }

  peerStates(): UapiPeerState[] {
    return this.device.peers().map((p) => ({
      publicKey: p.publicKey.bytes,
      presharedKey: p.presharedKey?.bytes ?? null,
      endpoint: p.endpoint,
      lastHandshakeAt: p.lastHandshakeAt,
      txBytes: p.txBytes,
      rxBytes: p.rxBytes,
      persistentKeepalive: p.persistentKeepalive,
      allowedIps: p.allowedIps,
    }));
  }
}
