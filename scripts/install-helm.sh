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
echo "install-helm: building helm v${HELM_VERSION} with go install (a few minutes the first time)"
# The version stamp `helm version` prints comes from this linker flag; without it a
# `go install` build reports the module version anyway through debug.BuildInfo, but set it
# explicitly so both routes agree.
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if GOBIN="$TOOLS" GOFLAGS=-mod=mod CGO_ENABLED=0 \
  go install -ldflags "$LDFLAGS" "${MODULE}/cmd/helm@v${HELM_VERSION}" 2>"$log"; then
  :
else
  cat "$log" >&2
  echo "install-helm: go install refused; falling back to go mod download + go build" >&2
  dir="$(GOFLAGS=-mod=mod go mod download -json "${MODULE}@v${HELM_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [[ -z "$dir" || ! -d "$dir" ]]; then
    echo "install-helm: go mod download of ${MODULE}@v${HELM_VERSION} gave no module folder" >&2
    exit 1
  fi
  # The module cache is read-only: build from it, writing only the binary.
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -ldflags "$LDFLAGS" -o "$HELM" ./cmd/helm)
fi

if ! reports_pinned; then
  echo "install-helm: ${HELM} does not report v${HELM_VERSION}: $("$HELM" version 2>&1 || true)" >&2
  exit 1
fi
echo "install-helm: $("$HELM" version --short)"
