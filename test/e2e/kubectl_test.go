package e2e

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestKubectlGetRuns: alice lists team-a's runs with kubectl and sees the table columns,
// filled from the spec and the status.
func TestKubectlGetRuns(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	fixture(t, alice, ns, "table")
	if _, err := alice.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("table-1", "table", "table"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// What an executor would report; alice may not write status.
	admin := clientFor(t, framework.AdminUser)
	run, err := admin.PipelinesV1beta1().Runs(ns).Get(t.Context(), "table-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Ages of 10 minutes and more print in whole minutes, so the row does not depend on
	// how long the requests take (nor on the times' truncation to seconds).
	now := time.Now()
	run.Status.Phase = v1beta1.RunPhaseSucceeded
	run.Status.StartTime = &metav1.Time{Time: now.Add(-15 * time.Minute)}
	run.Status.CompletionTime = &metav1.Time{Time: now.Add(-12 * time.Minute)}
	if _, err := admin.PipelinesV1beta1().Runs(ns).UpdateStatus(t.Context(), run, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	out := kubectl(t, "alice", "", "get", "runs", "-n", ns)
	header, row := tableRow(t, out, "table-1")
	if want := []string{"NAME", "EXPERIMENT", "PIPELINE", "PHASE", "STARTED", "DURATION", "AGE"}; !slices.Equal(header, want) {
		t.Errorf("columns %v, want %v:\n%s", header, want, out)
	}
	if want := []string{"table-1", "table", "table", "Succeeded", "15m", "3m"}; len(row) != 7 || !slices.Equal(row[:6], want) {
		t.Errorf("row %v, want %v and the age:\n%s", row, want, out)
	}
	out = kubectl(t, "alice", "", "get", "runs", "-n", ns, "-o", "wide")
	header, row = tableRow(t, out, "table-1")
	if !slices.Contains(header, "VERSION") || !slices.Contains(row, "table-v1") {
		t.Errorf("kubectl get -o wide does not show the pinned version:\n%s", out)
	}
}

// tableRow splits kubectl's table output into its header and the row of name.
func tableRow(t *testing.T, out, name string) (header, row []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header = strings.Fields(lines[0])
	for _, line := range lines[1:] {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return header, f
		}
	}
	t.Fatalf("no row for %s:\n%s", name, out)
	return nil, nil
}

// TestListSelectAndChunk: a field selector on spec.experimentName and --chunk-size=10 over
// 250 runs return exactly the right runs, in pages.
func TestListSelectAndChunk(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "exp-a")
	if _, err := c.PipelinesV1beta1().Experiments(ns).Create(t.Context(), newExperiment("exp-b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var all, inA []string
	for i := range 250 {
		name := fmt.Sprintf("run-%03d", i)
		all = append(all, "run.pipelines.kubeflow.org/"+name)
		if i%5 < 2 {
			inA = append(inA, "run.pipelines.kubeflow.org/"+name)
		}
	}
	createRuns(t, c, ns, 250, func(i int) *v1beta1.Run {
		exp := "exp-b"
		if i%5 < 2 {
			exp = "exp-a"
		}
		return newRun(fmt.Sprintf("run-%03d", i), exp, "exp-a")
	})

	for _, tc := range []struct {
		name     string
		args     []string
		want     []string
		minPages int
	}{
		{"all", nil, all, 25},
		{"experiment-a", []string{"--field-selector", "spec.experimentName=exp-a"}, inA, 10},
		{"experiment-b", []string{"--field-selector=spec.experimentName=exp-b"}, setDiff(all, inA), 15},
		{"no-experiment", []string{"--field-selector=spec.experimentName=none"}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// -v=6 logs each request: one per page.
			args := append([]string{"get", "runs", "-n", ns, "-o", "name", "--chunk-size=10", "-v=6"}, tc.args...)
			stdout, stderr, err := kubectlResult(t, "", "", args...)
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, stderr)
			}
			got := strings.Fields(stdout)
			if !slices.Equal(got, tc.want) {
				t.Errorf("kubectl %v: %d runs, want %d; missing %v, extra %v",
					args, len(got), len(tc.want), setDiff(tc.want, got), setDiff(got, tc.want))
			}
			// One "Response" line per request; client-side throttling logs other lines with
			// the URL.
			pages := 0
			for _, line := range strings.Split(stderr, "\n") {
				if strings.Contains(line, `"Response" verb="GET"`) && strings.Contains(line, "/runs?") {
					if !strings.Contains(line, "limit=10") {
						t.Errorf("kubectl listed without --chunk-size: %s", line)
					}
					pages++
				}
			}
			if pages < tc.minPages || pages > tc.minPages+1 {
				t.Errorf("kubectl read %d pages, want %d (or one more, empty)", pages, tc.minPages)
			}
		})
	}
	t.Run("table", func(t *testing.T) {
		out := kubectl(t, "", "", "get", "runs", "-n", ns, "--chunk-size=10", "--field-selector=spec.experimentName=exp-a")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1+len(inA) || !strings.HasPrefix(lines[0], "NAME") {
			t.Errorf("kubectl get runs with chunks printed %d lines, want a header and %d rows", len(lines), len(inA))
		}
	})
}

// createRuns creates n runs with a few concurrent clients.
func createRuns(t *testing.T, c versioned.Interface, ns string, n int, run func(i int) *v1beta1.Run) {
	t.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), run(i), metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("creating run %d: %w", i, err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// setDiff returns the elements of a not in b.
func setDiff(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	return d
}

// TestKubectlWatch: `kubectl get runs -w` prints a change another client makes within a
// second.
func TestKubectlWatch(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "watch")
	runs := c.PipelinesV1beta1().Runs(ns)
	if _, err := runs.Create(t.Context(), newRun("before", "watch", "watch"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := env.ControlPlane().KubectlCmd(ctx, env.Kubeconfig(), "--context=admin", "get", "runs", "-n", ns, "-w", "--output-watch-events")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer cancel()
	type event struct {
		text string // "EVENT NAME"
		at   time.Time
	}
	events := make(chan event, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 {
				events <- event{f[0] + " " + f[1], time.Now()}
			}
		}
		close(events)
	}()
	expect := func(want string, since time.Time, within time.Duration) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("kubectl get -w ended before %q: %s", want, stderr.String())
				}
				if ev.text != want {
					continue
				}
				d := ev.at.Sub(since)
				if d > within {
					t.Errorf("kubectl get -w printed %q %v after the change, want within %v", want, d, within)
				}
				t.Logf("kubectl get -w printed %q after %v", want, d.Round(time.Millisecond))
				return
			case <-timeout:
				t.Fatalf("kubectl get -w did not print %q within 10s: %s", want, stderr.String())
			}
		}
	}
	// The list, then the watch from the list's revision.
	expect("ADDED before", time.Now(), 10*time.Second)

	begin := time.Now()
	if _, err := runs.Create(t.Context(), newRun("after", "watch", "watch"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("ADDED after", begin, time.Second)

	begin = time.Now()
	patch := []byte(`{"metadata":{"labels":{"seen":"yes"}}}`)
	if _, err := runs.Patch(t.Context(), "before", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("MODIFIED before", begin, time.Second)

	begin = time.Now()
	if err := runs.Delete(t.Context(), "after", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("DELETED after", begin, time.Second)
}
