# pipelines-apiserver: a Kubernetes aggregated API server for ML pipelines, stored in MySQL.
#
# make test    every test, on a fresh machine with Go and the system package manager
# make verify  gofmt, vet, lint and generated code are clean
# make update  regenerate code
# make run     a complete local control plane; prints the KUBECONFIG to use
# make bench   this server against CRDs on etcd and raw MySQL (QUICK=1: a few minutes)
# make bench-storage  the storage engine's own benchmarks
# make test-galera  the storage conformance and replica tests on a 3-node MariaDB Galera cluster
# make fuzz    every fuzz target for FUZZTIME each (default 30s)

GO ?= go
PKGS := ./...

.PHONY: all build test test-galera test-unit verify update run bench bench-storage fuzz clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# The test command the README gives and CI runs.
test:
	hack/test.sh

# Not part of make test: a three-node cluster on loopback, results in docs/storage.md.
test-galera:
	hack/test-galera.sh

verify:
	hack/verify.sh

update:
	hack/update-codegen.sh

run:
	hack/run-local.sh

# The full run writes docs/performance.md and docs/img/; QUICK=1 writes to .local/bench-quick.
# BENCH_ARGS adds flags (go run ./hack/bench -help lists them).
BENCH_QUICK := $(if $(filter 1 true yes,$(QUICK)),-quick,)
bench:
	hack/ensure-mariadb.sh >&2
	PIPELINES_CONTROLPLANE_BIN="$$(hack/build-controlplane.sh | tail -n 1)" \
		$(GO) run ./hack/bench $(BENCH_QUICK) -command="make bench$(if $(BENCH_QUICK), QUICK=1,)$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)',)" $(BENCH_ARGS)

bench-storage:
	$(GO) test -run '^$$' -bench . -benchtime=2s ./pkg/storage/mysql/

FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

clean:
	rm -rf bin
