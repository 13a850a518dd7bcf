#!/usr/bin/env bash
# Installs the pinned helm into .tools/bin/helm, built from source through the Go module
# proxy (the only route to it here: no prebuilt download). Idempotent: quick when
# .tools/bin/helm already reports the pinned version.
#
#   scripts/install-helm.sh            # installs helm v3.22.0 (or $HELM_VERSION)
#
# First try `go install helm.sh/helm/v3/cmd/helm@vX`; if the Go toolchain refuses (a module
# whose go.mod has replace directives cannot be `go install`ed at a version), fall back to
# `go mod download` of the module and `go build` inside the downloaded module folder.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-3.22.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${ROOT}/.tools/bin"
HELM="${TOOLS}/helm"
MODULE="helm.sh/helm/v3"

reports_pinned() {
  [[ -x "$HELM" ]] && "$HELM" version --template '{{.Version}}' 2>/dev/null | grep -qx "v${HELM_VERSION}"
}

if reports_pinned; then
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: go is not installed; it is needed to build helm v${HELM_VERSION} from the Go module proxy" >&2
  exit 1
fi

mkdir -p "$TOOLS"
export GOFLAGS=-mod=mod CGO_ENABLED=0

# The module's own folder (downloaded through the proxy): its go.mod names the client-go
# version, from which helm's Makefile derives the Kubernetes version that `helm template`
# and `helm lint` assume by default. Without it they assume v1.20 and refuse charts that
# require a newer one, so stamp it as the release build does, with the version itself.
dir="$(go mod download -json "${MODULE}@v${HELM_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$dir" || ! -f "$dir/go.mod" ]]; then
  echo "install-helm: go mod download of ${MODULE}@v${HELM_VERSION} gave no module folder" >&2
  exit 1
fi
client_go="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$dir/go.mod" | head -n 1)"
if [[ -z "$client_go" ]]; then
  echo "install-helm: no k8s.io/client-go version in $dir/go.mod" >&2
  exit 1
fi
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  LDFLAGS+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${client_go}"
done

echo "install-helm: building helm v${HELM_VERSION} (Kubernetes 1.${client_go} by default) with go install; a few minutes the first time"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if GOBIN="$TOOLS" go install -trimpath -ldflags "$LDFLAGS" "${MODULE}/cmd/helm@v${HELM_VERSION}" 2>"$log"; then
  :
else
  cat "$log" >&2
  # `go install pkg@version` refuses a module whose go.mod has replace directives: build
  # inside the downloaded module folder instead (the module cache is read-only, so only
  # the binary is written, outside it).
  echo "install-helm: go install refused; building inside the downloaded module instead" >&2
  (cd "$dir" && go build -trimpath -ldflags "$LDFLAGS" -o "$HELM" ./cmd/helm)
fi

if ! reports_pinned; then
  echo "install-helm: ${HELM} does not report v${HELM_VERSION}: $("$HELM" version 2>&1 || true)" >&2
  exit 1
fi
echo "install-helm: $("$HELM" version --short)"
