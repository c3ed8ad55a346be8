#!/usr/bin/env bash
# Installs everything wg-ts needs on a fresh Debian 12 machine with Node.js ≥ 20.19, then builds.
# Idempotent: safe to run before every command. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Debian packages: the reference peer (wireguard-go + wg), lab and test tooling.
PKGS=(wireguard-go wireguard-tools iproute2 nftables iperf3 iputils-ping procps tcpdump    # tcpdump: pnpm bench's per-hop latency
      postgresql postgresql-client dnsmasq-base cloud-init isc-dhcp-client
      curl python3    # curl: the cloud-init scripts under test; python3: a stand-in metadata API in one test
      debootstrap systemd-container dpkg-dev zstd util-linux    # the first-boot tests: Debian 12 + systemd + cloud-init in systemd-nspawn
      openssl)        # the AWS first-boot test: a test CA for its HTTPS stand-in of S3
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # --no-install-recommends: wireguard pulls a kernel image otherwise.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a cluster on install; wg-ts runs its own PostgreSQL instances, so leave the default one alone.

if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version)" != 10.* ]]; then
  echo "bootstrap: installing pnpm 10"
  npm install -g pnpm@10 >/dev/null 2>&1
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build
