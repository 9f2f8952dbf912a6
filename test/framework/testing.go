package framework

import (
	"errors"
	"os"
	"testing"
)

// EnvRequireTestDeps set to "1" (as in CI) turns a missing dependency from a skip into a
// failure.
const EnvRequireTestDeps = "PIPELINES_REQUIRE_TESTDEPS"

// SkipOrFail ends a test whose environment did not start: it skips when MariaDB is missing
// (saying how to install it) unless PIPELINES_REQUIRE_TESTDEPS=1, and fails otherwise.
// Packages that start one environment in TestMain keep its error and call this from every
// test.
func SkipOrFail(tb testing.TB, err error) {
	tb.Helper()
	var missing *MissingDependencyError
	if errors.As(err, &missing) && os.Getenv(EnvRequireTestDeps) != "1" {
		tb.Skipf("environment not started: %v", err)
	}
	tb.Fatalf("environment not started: %v", err)
}

// DumpLogsOnFailure registers a cleanup that prints the last warnings and errors of the
// server, MariaDB and kube-apiserver if tb failed.
func (e *Environment) DumpLogsOnFailure(tb testing.TB) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("warnings and errors in the logs of the environment in %s:\n%s", e.dir, e.Problems(problemRecords))
		}
	})
}
