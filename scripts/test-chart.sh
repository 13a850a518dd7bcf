#!/usr/bin/env bash
# Tests the Helm chart (charts/arbiter), offline:
#   1. helm lint --strict, for the chart's defaults and each ci/*-values.yaml;
#   2. helm template of each ci/*-values.yaml (the defaults alone must refuse to render:
#      auth is jwt and no identity provider is named), validated against the Kubernetes API
#      schemas (types, enums, required fields and unknown fields;
#      test/chart/validate-k8s.mjs, schemas from npm);
#   3. the node tests of test/chart/ (rendered objects, values schema, README table, and
#      the policy ConfigMap hot-reloading in the real service).
# Installs what it needs when missing: the pinned helm (scripts/install-helm.sh, from the Go
# module proxy) and the schemas (test/chart/k8s-schemas, from npm, into .tools/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HELM="$ROOT/.tools/bin/helm"
CHART="$ROOT/charts/arbiter"
SCHEMAS="$ROOT/.tools/k8s-schemas"
export HELM_CACHE_HOME="$ROOT/.tools/helm-cache"

./scripts/install-helm.sh

if [[ ! -d node_modules/yaml || ! -d node_modules/tsx ]]; then
  echo "test-chart: node_modules is missing: run make setup (npm ci) first" >&2
  exit 1
fi

# The Kubernetes schemas: reinstalled only when the pinned package list changed.
if ! cmp -s test/chart/k8s-schemas/package-lock.json "$SCHEMAS/package-lock.json" || [[ ! -d "$SCHEMAS/node_modules/kubernetes-models" ]]; then
  echo "test-chart: installing the Kubernetes schemas (npm ci into .tools/k8s-schemas)"
  rm -rf "$SCHEMAS"
  mkdir -p "$SCHEMAS"
  cp test/chart/k8s-schemas/package.json test/chart/k8s-schemas/package-lock.json "$SCHEMAS/"
  (cd "$SCHEMAS" && npm ci --no-audit --no-fund --loglevel=error)
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

values_files=("" "$CHART"/ci/*-values.yaml)
for values in "${values_files[@]}"; do
  name="${values:+$(basename "$values" .yaml)}"
  name="${name:-chart-defaults}"
  args=()
  [[ -n "$values" ]] && args=(--values "$values")
  echo "test-chart: helm lint --strict ($name)"
  "$HELM" lint --strict "$CHART" "${args[@]}" --quiet
  if [[ -z "$values" ]]; then
    # Safe by default (issue 12): auth.mode is jwt, so the defaults alone name no identity
    # provider and must refuse to render (lint reports a fail() as information only).
    if "$HELM" template arbiter "$CHART" --namespace arbiter >/dev/null 2>"$out/defaults.err"; then
      echo "test-chart: the chart defaults rendered; they must refuse without an identity provider" >&2
      exit 1
    fi
    grep -q "auth.mode jwt (the chart's default) needs" "$out/defaults.err"
    continue
  fi
  "$HELM" template arbiter "$CHART" --namespace arbiter "${args[@]}" >"$out/$name.yaml"
done

node test/chart/validate-k8s.mjs --self-test
node test/chart/validate-k8s.mjs "$out"/*.yaml

node --import tsx --test --test-concurrency=2 test/chart/*.test.ts
