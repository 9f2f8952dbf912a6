package framework

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"
)

const experiment = `apiVersion: pipelines.kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: kept
spec:
  description: survives restarts
`

func start(t *testing.T, ctx context.Context, dir string) *Environment {
	t.Helper()
	env, err := Start(ctx, Config{Dir: dir, Logger: ktesting.NewLogger(t, ktesting.NewConfig())})
	if err != nil {
		SkipOrFail(t, err)
	}
	env.DumpLogsOnFailure(t)
	return env
}

func kubectl(t *testing.T, ctx context.Context, env *Environment, user, stdin string, args ...string) string {
	t.Helper()
	cmd := env.ControlPlane().KubectlCmd(ctx, env.Kubeconfig(), append([]string{"--context=" + user}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestEnvironment starts an environment in a directory, restarts its database and server,
// stops it and starts it again on the same directory, as a second `make run` does.
func TestEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, etcd, kube-apiserver and pipelines-apiserver")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	env := start(t, ctx, dir)

	caBefore, err := os.ReadFile(env.ControlPlane().Certs().ServingCA)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ user, namespace, want string }{
		{"alice", "team-a", "yes"}, {"alice", "team-b", "no"},
		{"bob", "team-b", "yes"}, {"bob", "team-a", "no"},
	} {
		out, _, _ := env.Kubectl(ctx, c.user, "auth", "can-i", "create", "runs.pipelines.kubeflow.org", "-n", c.namespace)
		if strings.TrimSpace(out) != c.want {
			t.Errorf("%s may create runs in %s: %q, want %q", c.user, c.namespace, strings.TrimSpace(out), c.want)
		}
	}
	// Alice's context defaults to team-a.
	kubectl(t, ctx, env, "alice", experiment, "create", "-f", "-")
	if out := kubectl(t, ctx, env, "admin", "", "get", "experiments", "-n", "team-a", "-o", "name"); !strings.Contains(out, "experiment.pipelines.kubeflow.org/kept") {
		t.Fatalf("experiment not in team-a: %q", out)
	}

	if err := env.RestartDatabase(ctx, Kill); err != nil {
		t.Fatalf("restarting MariaDB: %v", err)
	}
	kubectl(t, ctx, env, "alice", "", "get", "experiment", "kept")
	if err := env.RestartServer(ctx, Graceful); err != nil {
		t.Fatalf("restarting the server: %v", err)
	}
	kubectl(t, ctx, env, "alice", "", "get", "experiment", "kept")

	kubeconfig := env.Kubeconfig()
	if err := env.Stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mariadb", "data")); err != nil {
		t.Fatalf("Stop removed a directory it was given: %v", err)
	}

	env = start(t, ctx, dir)
	defer func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}()
	if env.Kubeconfig() != kubeconfig {
		t.Errorf("kubeconfig moved from %s to %s", kubeconfig, env.Kubeconfig())
	}
	caAfter, err := os.ReadFile(env.ControlPlane().Certs().ServingCA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caBefore, caAfter) {
		t.Error("the serving CA changed across restarts of the environment")
	}
	out := kubectl(t, ctx, env, "alice", "", "get", "experiment", "kept", "-o", "jsonpath={.spec.description}")
	if out != "survives restarts" {
		t.Errorf("experiment after a second Start: %q", out)
	}
}

func TestStartWithoutMariaDB(t *testing.T) {
	saved := mariaDBServerNames
	mariaDBServerNames = []string{"no-such-mariadbd"}
	savedDirs := mariaDBServerDirs
	mariaDBServerDirs = nil
	t.Setenv("PATH", t.TempDir())
	defer func() { mariaDBServerNames, mariaDBServerDirs = saved, savedDirs }()

	dir := t.TempDir()
	_, err := Start(t.Context(), Config{Dir: dir})
	var missing *MissingDependencyError
	if !errors.As(err, &missing) {
		t.Fatalf("Start without MariaDB: %v, want a MissingDependencyError", err)
	}
	// Nothing slow was started, and the directory can be used again.
	if _, err := os.Stat(filepath.Join(dir, "controlplane")); err == nil {
		t.Error("the control plane was started although MariaDB is missing")
	}
}

func TestProblems(t *testing.T) {
	log := strings.Join([]string{
		"I1123 02:46:48.000000   1 a.go:1] fine",
		`E1123 02:46:48.809789   1 timeout.go:121] "Observed a panic" panic=<`,
		"\tinterface conversion",
		"\tgoroutine 1072 [running]:",
		" >",
		"I1123 02:46:49.000000   1 a.go:1] fine again",
		"W1123 02:46:50.000000   1 a.go:1] careful",
		"2026-11-23  2:46:03 0 [Note] InnoDB: fine",
		"2026-11-23  2:46:03 0 [ERROR] InnoDB: broken",
		"Error: not a klog line",
	}, "\n")
	got := problems(log, 10)
	want := []string{
		"E1123 02:46:48.809789   1 timeout.go:121] \"Observed a panic\" panic=<\n\tinterface conversion\n\tgoroutine 1072 [running]:\n >",
		"W1123 02:46:50.000000   1 a.go:1] careful",
		"2026-11-23  2:46:03 0 [ERROR] InnoDB: broken",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("problems:\n%q\nwant\n%q", got, want)
	}
	if got := problems(log, 1); len(got) != 1 || got[0] != want[2] {
		t.Errorf("last problem: %q", got)
	}
}
