# cairn's build, test and local-cluster entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

# What is built once per user and kept by version (cluster binaries, sidecars, lint tools, test
# servers, npm packages) lives outside the checkout, shared by every clone; what belongs to this
# checkout (local clusters, logs, the demo's vault) stays in .cache/ (hack/versions.sh).
export CAIRN_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/cairn
export CAIRN_STATE ?= $(CURDIR)/.cache
# The browser tests use Debian's Chromium: no npm package may download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CAIRN_CACHE)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify --quiet HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BUILDINFO := github.com/cairnbackup/cairn/internal/buildinfo
LDFLAGS := -s -w -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Commit=$(COMMIT) -X $(BUILDINFO).Date=$(DATE)

TEST_TAGS := integration e2e

AGENT_IMAGE ?= local/cairn-agent:dev

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/cairn
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/cairn ./cmd/cairn

.PHONY: agent-image
agent-image: build ## write the agent image (bin/cairn at /cairn) to bin/cairn-agent-image.tar; CLUSTER=dev imports it into that local cluster
	go run ./hack/agentimage -binary bin/cairn -tag $(AGENT_IMAGE) -out bin/cairn-agent-image.tar $(if $(CLUSTER),-import $(CLUSTER))

.PHONY: deps
deps: ## install the Debian packages tests and the demo need (idempotent)
	@hack/install-deps.sh

.PHONY: test-servers
test-servers: ## install the real servers tests run against: storage (versitygw, Azurite), the OpenID provider of single sign-on
	@hack/install-versitygw.sh
	@hack/install-azurite.sh
	@hack/install-oidc-provider.sh

.PHONY: bench-tools
bench-tools: ## install the backup tools bench/files compares with (kopia, restic) into $(CAIRN_CACHE)/tools (once)
	@hack/install-bench-tools.sh

.PHONY: browser-tests-deps
browser-tests-deps: ## install the browser tests' playwright-core (npm ci of test/browser/package-lock.json) into $(CAIRN_CACHE)/npm (once)
	@hack/install-browser-tests.sh

.PHONY: cluster-binaries
cluster-binaries: ## build etcd and the Kubernetes components into $(CAIRN_CACHE)/bin (once)
	@hack/build-cluster-binaries.sh

.PHONY: upgrade-binaries
upgrade-binaries: ## build the newer Kubernetes control plane the cluster-upgrade e2e test restores into (once)
	@hack/build-cluster-binaries.sh upgrade

.PHONY: previous-release
previous-release: ## build the previous release's cairn the rolling-upgrade e2e test runs beside this one (once)
	@hack/build-previous-release.sh

.PHONY: csi-sidecars
csi-sidecars: ## build the CSI sidecars (csi-provisioner, csi-snapshotter, snapshot-controller) into $(CAIRN_CACHE)/bin (once)
	@hack/build-csi-sidecars.sh

.PHONY: test
test: test-unit test-fuzz test-integration test-e2e ## run every test: unit, fuzz (short), integration (real apiserver), e2e (real node)

.PHONY: test-unit
test-unit: ## fast unit tests, race detector on
	go test -race -count=1 ./...

# A count, not a duration: with -fuzztime 10s, Go 1.26's fuzz coordinator can report its own
# deadline as a failure ("context deadline exceeded", no crasher; golang/go#75804, fixed in 1.27).
FUZZTIME ?= 100000x
FUZZ_PACKAGES := ./internal/archive ./internal/archive/filerepo ./internal/backup

.PHONY: test-fuzz
test-fuzz: ## run every fuzz target briefly (FUZZTIME=100000x inputs each)
	@for pkg in $(FUZZ_PACKAGES); do \
	  for target in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "go test -run '^$$' -fuzz '^$$target$$' -fuzztime $(FUZZTIME) $$pkg"; \
	    go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

.PHONY: test-integration
test-integration: cluster-binaries test-servers ## tests against a real kube-apiserver and etcd, and storage backends against real servers
	go test -race -count=1 -timeout 20m -v -tags integration ./internal/blob/... ./internal/agent/... ./test/integration/...

.PHONY: test-e2e
test-e2e: deps cluster-binaries upgrade-binaries csi-sidecars browser-tests-deps previous-release ## tests on a full cluster with a real node (root); the Backup center's in headless Chromium
	go test -count=1 -timeout 30m -v -tags e2e ./test/e2e/...

BENCH_COUNTS ?= 10000,100000
BENCH_KINDS ?= configmaps,secrets
BENCH_FILES_RUNS ?= 1

.PHONY: bench
bench: build cluster-binaries csi-sidecars test-servers bench-tools ## benchmarks: Go benchmarks, backup/restore of many objects, storage throughput per backend, volume snapshots, a vault with 5,000 instances, file data beside kopia and restic (tables)
	go test -run '^$$' -bench . -benchmem -count=1 ./...
	go test -run '^$$' -bench . -benchmem -count=1 -tags integration ./test/integration/...
	go run ./bench/objects -counts $(BENCH_COUNTS) -kinds $(BENCH_KINDS)
	go run ./bench/storage
	go run ./bench/volumes -claims 20 -mib 100
	go run ./bench/files -runs $(BENCH_FILES_RUNS) -cairn bin/cairn
	go test -run '^TestVault$$' -count=1 -timeout 60m -v ./bench/vault -args -vault

BENCH_NAMESPACES ?= 1000
BENCH_VELERO_CAP ?= 0
BENCH_CLUSTER_FLAGS ?=

.PHONY: bench-velero
bench-velero: ## install Velero and its AWS plugin, which bench/cluster measures beside cairn, into $(CAIRN_CACHE)/tools (once)
	@hack/install-velero.sh

.PHONY: bench-cluster
bench-cluster: build cluster-binaries test-servers bench-velero ## a large mixed cluster (BENCH_NAMESPACES x 300 objects, default 300,000): cairn's backup and restore beside a raw LIST and create and beside Velero (table; not part of make bench: Velero's restore alone takes about 2.5 hours at 300,000; BENCH_VELERO_CAP=25 stops it at 25 times cairn's restore time; BENCH_CLUSTER_FLAGS="-restore=false -save DIR", then "-from DIR", runs it in two halves)
	go run ./bench/cluster -namespaces $(BENCH_NAMESPACES) -velero -velero-restore-cap $(BENCH_VELERO_CAP) $(BENCH_CLUSTER_FLAGS)

CONTROLLER_GEN_VERSION := v0.23.0
CONTROLLER_GEN := $(CAIRN_CACHE)/tools/controller-gen-$(CONTROLLER_GEN_VERSION)

.PHONY: generate
generate: $(CONTROLLER_GEN) ## regenerate api/v1alpha1 deepcopy functions and deploy/crds from the Go types
	$(CONTROLLER_GEN) object paths=./api/v1alpha1/... crd:crdVersions=v1 paths=./api/v1alpha1/... output:crd:dir=deploy/crds
	cp deploy/crds/*.yaml deploy/helm/cairn-agent/crds/

$(CONTROLLER_GEN):
	cd hack/tools/controller-gen && GOFLAGS=-mod=mod go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

.PHONY: lint
lint: $(GOLANGCI_LINT) generate ## gofmt, go vet, golangci-lint (with the depguard layering rules, proven by planting an upward import on every floor), generated code up to date
	@if ! git diff --quiet -- api deploy; then echo "generated code is stale: run make generate and commit api/ and deploy/"; git diff --stat -- api deploy; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet -tags "$(TEST_TAGS)" ./...
	$(GOLANGCI_LINT) run --build-tags "$(subst $() ,$(comma),$(TEST_TAGS))" ./...
	hack/check-layers.sh $(GOLANGCI_LINT)

comma := ,

$(GOLANGCI_LINT):
	GOBIN=$(dir $@) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: demo
demo: deps build cluster-binaries csi-sidecars ## local cluster, sample app, vault + agent + policy, scheduled backup, delete the app, restore it through the vault
	@hack/demo.sh

.PHONY: demo-center
demo-center: build ## after make demo: serve the demo vault's Backup center (web dashboard) on http://127.0.0.1:18443/ with its agent, until Ctrl-C
	@hack/demo-center.sh

.PHONY: ui-assets
ui-assets: ## refresh htmx from npm into internal/vault/ui/static (committed; the Go build needs no Node)
	@hack/ui-assets.sh

.PHONY: cluster-up
cluster-up: deps cluster-binaries csi-sidecars ## start the full single-node local cluster (with the CSI stack) and print its KUBECONFIG
	@go run ./hack/localcluster up -name dev

.PHONY: cluster-down
cluster-down: ## stop the local cluster, leaving no process, mount or device behind
	@go run ./hack/localcluster down -name dev

.PHONY: cluster-status
cluster-status: ## list local clusters
	@go run ./hack/localcluster status

.PHONY: clean
clean: ## remove build outputs (keeps the cluster binaries cache)
	rm -rf bin
