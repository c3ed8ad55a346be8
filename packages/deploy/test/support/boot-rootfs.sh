#!/usr/bin/env bash
# boot-rootfs.sh OUT.tar.zst PACKAGE...: the Debian 12 userspace the boot tests run in a container
# (test/support/boot.ts): systemd as PID 1, cloud-init with the NoCloud datasource only, netbase
# (/etc/protocols: nft resolves "ipv6-icmp" with it; cloud images have it), the
# en_US.UTF-8 locale (cloud-init's locale module fails without it), and at /srv/wg-ts-mirror a local
# apt repository holding PACKAGE... and the dependencies the image lacks (the stand-in for the
# package mirror: the image's only apt source, `file:`, no network needed at boot).
# Needs root, debootstrap and dpkg-scanpackages; downloads from deb.debian.org (~100 s).
set -euo pipefail
out=$1
shift
work=$(mktemp -d /var/tmp/wg-ts-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
# python3-cffi-backend: without it cloud-init stays unconfigured.
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,cloud-init,iproute2,python3-cffi-backend,locales,netbase \
  bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
chroot "$root" sh -ec '
  sed -i "s/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/" /etc/locale.gen
  locale-gen >/dev/null
  echo LANG=en_US.UTF-8 >/etc/default/locale
  apt-get clean
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --download-only "$@" >/dev/null
' sh "$@"
mkdir -p "$root/srv/wg-ts-mirror"
mv "$root"/var/cache/apt/archives/*.deb "$root/srv/wg-ts-mirror/"
(cd "$root/srv/wg-ts-mirror" && dpkg-scanpackages --multiversion . >Packages 2>/dev/null)
echo 'deb [trusted=yes] file:/srv/wg-ts-mirror ./' >"$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
printf 'datasource_list: [ NoCloud, None ]\n' >"$root/etc/cloud/cloud.cfg.d/90-wg-ts-boot-test.cfg"
: >"$root/etc/machine-id"
tar -C "$root" --numeric-owner -I 'zstd -T0 -3 -q' -cf "$out.tmp" .
mv "$out.tmp" "$out"
