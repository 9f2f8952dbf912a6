#!/usr/bin/env bash
# Runs the storage engine's conformance and replica tests against a three-node MariaDB Galera
# cluster on loopback (make test-galera; not part of make test). pkg/storage/mysql/testing starts
# the cluster when PIPELINES_TEST_GALERA=1; tests that open several Backends give each its own node.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/ensure-mariadb.sh --galera >&2

# Every test of the two files, by name.
tests="$(grep -ho '^func Test[A-Za-z0-9_]*' pkg/storage/mysql/conformance_test.go pkg/storage/mysql/replicas_test.go |
	sed 's/^func //' | grep -v '^TestMain$' | paste -sd '|')"

PIPELINES_TEST_GALERA=1 PIPELINES_REQUIRE_TESTDEPS=1 \
	go test -count=1 -timeout 30m -run "^(${tests})\$" "$@" ./pkg/storage/mysql/
