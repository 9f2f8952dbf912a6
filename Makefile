# pipelines-apiserver: a Kubernetes aggregated API server for ML pipelines, stored in MySQL.
#
# make test    every test, on a fresh machine with Go and the system package manager
# make verify  gofmt, vet, lint and generated code are clean
# make update  regenerate code
# make run     a complete local control plane; prints the KUBECONFIG to use
# make bench   storage benchmarks

GO ?= go
PKGS := ./...

.PHONY: all build test test-unit verify update run bench clean

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# The test command the README gives and CI runs.
test:
	hack/test.sh

verify:
	hack/verify.sh

update:
	hack/update-codegen.sh

run:
	hack/run-local.sh

bench:
	$(GO) test -run '^$$' -bench . -benchtime=2s ./pkg/storage/mysql/

clean:
	rm -rf bin
