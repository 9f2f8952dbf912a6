// Package framework starts a whole local pipelines-apiserver environment, for the end-to-end
// tests and for `make run`: a private MariaDB, etcd and kube-apiserver (test/controlplane),
// this repository's pipelines-apiserver built from source and run as a child process, its
// APIService, the ClusterRoles and RBAC of artifacts/, and two teams: namespaces team-a and
// team-b whose users alice and bob are bound to the built-in ClusterRole edit there.
//
// A Config.Dir that an earlier Start used is reused: the database, etcd's data and every
// certificate survive, so a second `make run` finds what the first one created. Without a
// Dir everything lives in a temporary directory that Stop removes.
//
// The processes log to files in Dir (ServerLog, ...); errors about a process that failed quote
// the end of its log, and LogTails gathers them for a failing test.
//
//	env, err := framework.Start(ctx, framework.Config{})
//	if err != nil { ... }
//	defer env.Stop()
//	out, _, err := env.Kubectl(ctx, "alice", "get", "runs")
package framework

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/cmd/options"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
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

// Use returns env, the environment a package started in TestMain, to a test, or ends
// the test when it did not start (startErr): a skip under -short, else as SkipOrFail
// says. The test dumps the environment's log problems if it fails.
func Use(tb testing.TB, env *Environment, startErr error) *Environment {
	tb.Helper()
	if startErr != nil {
		if testing.Short() {
			tb.Skip(startErr)
		}
		SkipOrFail(tb, startErr)
	}
	env.DumpLogsOnFailure(tb)
	return env
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

// Client returns the generated clientset of a user of the environment's kubeconfig
// (admin, alice or bob), or fails tb.
func (e *Environment) Client(tb testing.TB, user string) versioned.Interface {
	tb.Helper()
	cfg, err := e.RESTConfig(user)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := versioned.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var unsafeNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// NewNamespace creates a namespace for one test, named after it with prefix and a hash.
// Namespaces are not deleted: without a controller-manager they would stay Terminating,
// and the environment goes away anyway.
func (e *Environment) NewNamespace(tb testing.TB, prefix string) string {
	tb.Helper()
	h := fnv.New32a()
	_, _ = fmt.Fprintf(h, "%s %d", tb.Name(), time.Now().UnixNano())
	base := strings.Trim(unsafeNameChars.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	name := fmt.Sprintf("%s-%s-%08x", prefix, base, h.Sum32())
	if err := e.cp.EnsureNamespace(tb.Context(), name); err != nil {
		tb.Fatal(err)
	}
	if e.execution {
		// kube-controller-manager creates it a moment later; pods need it, and Argo's
		// controller fails a step whose pod it cannot create.
		err := wait.PollUntilContextTimeout(tb.Context(), 50*time.Millisecond, e.timeout, true, func(ctx context.Context) (bool, error) {
			_, err := e.cp.Client().CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			tb.Fatalf("namespace %s got no default service account: %v", name, err)
		}
		// Runs that name no account run as the server's default runner, as in the teams'
		// namespaces.
		if err := e.cp.EnsureServiceAccount(tb.Context(), name, options.DefaultRunServiceAccount); err != nil {
			tb.Fatal(err)
		}
	}
	return name
}
