# Arbiter: `make run` starts the service on its embedded defaults, `make test` runs every test.
# Both set up what is missing first; setup is quick when nothing changed.

SHELL := /bin/bash
OPA_VERSION := 1.22.3
HELM_VERSION := 3.22.0
# The Node.js LTS everything runs on (the machine's own node only fetches it).
NODE_VERSION := 26.12.1
TOOLS := $(CURDIR)/.tools/bin
OPA := $(TOOLS)/opa
HELM := $(TOOLS)/helm
# A stamp named after the version, so a new pin installs again (and node_modules follow it).
NODE := $(CURDIR)/.tools/node/v$(NODE_VERSION)
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)
NODE_STAMP := node_modules/.arbiter-setup
BUILD_STAMP := dist/.arbiter-build
TS_SOURCES := $(shell find services test bench -name '*.ts' 2>/dev/null) tsconfig.json
# The chart tests run in test-chart (they need helm): they stay out of test-unit.
TEST_FILES = $(shell find test -name '*.test.ts' -not -path 'test/chart/*' | sort)

export ARBITER_OPA ?= $(OPA)

.PHONY: setup setup-service run test test-unit test-rego test-chart lint typecheck bench bench-export bench-compare eval sbom clean

# What the service needs; `make setup` adds helm (for the chart tests), which `make run` does not wait for.
setup-service: $(NODE) $(NODE_STAMP) $(OPA) $(BUILD_STAMP)

setup: setup-service $(HELM)

# The pinned Node.js, from the npm registry (quick when already there).
$(NODE):
	NODE_VERSION=$(NODE_VERSION) ./scripts/install-node.sh

$(NODE_STAMP): package.json package-lock.json $(NODE)
	npm ci --no-audit --no-fund
	@touch $@

# The pinned opa: one already on PATH at this version, else built from the Go module proxy.
$(OPA):
	@mkdir -p $(TOOLS)
	@if command -v opa >/dev/null 2>&1 && opa version 2>/dev/null | grep -q "^Version: $(OPA_VERSION)$$"; then \
		ln -sf "$$(command -v opa)" $(OPA); \
	else \
		echo "installing opa v$(OPA_VERSION) with go install"; \
		GOBIN=$(TOOLS) GOFLAGS=-mod=mod go install github.com/open-policy-agent/opa@v$(OPA_VERSION); \
	fi
	@$(OPA) version | grep -q "^Version: $(OPA_VERSION)$$" || { echo "opa at $(OPA) is not v$(OPA_VERSION)" >&2; exit 1; }

# The pinned helm, built from the Go module proxy (quick when already there).
$(HELM):
	HELM_VERSION=$(HELM_VERSION) ./scripts/install-helm.sh

$(BUILD_STAMP): $(NODE_STAMP) $(TS_SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

run: setup-service
	node dist/services/decision/src/cli/main.js serve

typecheck: $(NODE_STAMP)
	npx tsc -p tsconfig.json --noEmit

lint: $(OPA) $(NODE_STAMP)
	npx prettier --check "services/**/*.ts" "test/**/*.ts" "bench/**/*.ts" "examples/**/*.ts" "eval/**/*.ts"
	@test -z "$$($(OPA) fmt --list rego test/cases)" || { echo "rego files need opa fmt:"; $(OPA) fmt --list rego test/cases; exit 1; }
	$(OPA) check --strict rego decision_cases:test/cases
	./scripts/check-rego-tests.sh rego
	node scripts/check-catalogs.mjs

# The decision cases (test/cases/*.json) as data under decision_cases, beside their test; they
# run as one test that takes seconds in opa's evaluator, past its default 5 s timeout on a busy machine.
test-rego: $(OPA)
	$(OPA) test --timeout 2m rego decision_cases:test/cases

test-unit: setup-service
	./scripts/ensure-redis.sh
	node --import tsx --test --test-concurrency=2 $(TEST_FILES)

test-chart: $(NODE_STAMP) $(OPA) $(HELM)
	HELM_VERSION=$(HELM_VERSION) ./scripts/test-chart.sh

test: setup typecheck lint test-rego test-unit test-chart

bench-export: setup-service
	./scripts/ensure-redis.sh
	node --import tsx bench/export.bench.ts

bench: setup-service
	./scripts/ensure-redis.sh
	node --import tsx bench/decide.bench.ts

# Arbiter (Redis; memory) beside `opa run --server` (decision log on; off) and a node:http echo,
# in one run (bench/compare.ts, about three minutes); writes its figures into BENCHMARKS.md.
# Load from wrk when it is on PATH (Debian: apt-get install wrk), else from node.
bench-compare: setup-service
	./scripts/ensure-redis.sh
	node --import tsx bench/compare.ts --write BENCHMARKS.md

# The detection corpus (eval/README.md) replayed through a real Arbiter per company, with the
# catalogues as written and again reduced to the older sparse model (eval/legacy.ts); a
# measurement: missed targets do not fail it, a malformed corpus or an Arbiter that cannot start does.
eval: setup-service
	node --import tsx eval/run.ts --json eval/results.json --markdown EVAL.md
	node --import tsx eval/run.ts --catalog-model legacy --json eval/results-legacy.json --markdown EVAL-legacy.md

# The software bill of materials of the production dependencies (CycloneDX JSON, by npm from
# the lockfile); the image carries the same at /app/sbom.cdx.json.
sbom: $(NODE_STAMP)
	@mkdir -p dist
	npm sbom --sbom-format cyclonedx --omit dev > dist/sbom.cdx.json
	@echo "wrote dist/sbom.cdx.json"

clean:
	rm -rf dist node_modules .tools
