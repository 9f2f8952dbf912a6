package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestRestart: what was stored survives restarts of the server and of MariaDB, graceful or
// not, and the server goes on serving and numbering revisions after them.
func TestRestart(t *testing.T) {
	env := setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "keep")
	if _, err := c.PipelinesV1beta1().Jobs(ns).Create(t.Context(), newJob("keep", "keep", "keep"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun(fmt.Sprintf("before-%d", i), "keep", "keep"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := snapshot(t, c, ns)

	for _, step := range []struct {
		name    string
		restart func() error
	}{
		{"server-graceful", func() error { return env.RestartServer(t.Context(), framework.Graceful) }},
		{"server-killed", func() error { return env.RestartServer(t.Context(), framework.Kill) }},
		{"mariadb-graceful", func() error { return env.RestartDatabase(t.Context(), framework.Graceful) }},
		{"mariadb-killed", func() error { return env.RestartDatabase(t.Context(), framework.Kill) }},
	} {
		t.Run(step.name, func(t *testing.T) {
			if err := step.restart(); err != nil {
				t.Fatalf("restart: %v", err)
			}
			got := snapshot(t, c, ns)
			if !maps.Equal(got, want) {
				t.Errorf("after the restart the namespace holds\n%s\nwant\n%s", describe(got), describe(want))
			}
			// A watch from a revision before the restart sees a write after it, and new
			// writes get newer revisions than anything stored before.
			newest := newestRevision(t, want)
			w, err := c.PipelinesV1beta1().Runs(ns).Watch(t.Context(), metav1.ListOptions{ResourceVersion: strconv.FormatInt(newest, 10)})
			if err != nil {
				t.Fatalf("watch from before the restart: %v", err)
			}
			defer w.Stop()
			run, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("after-"+step.name, "keep", "keep"), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create after the restart: %v", err)
			}
			if rv := revision(t, run.ResourceVersion); rv <= newest {
				t.Errorf("resourceVersion %d after the restart, not above %d before", rv, newest)
			}
			select {
			case ev := <-w.ResultChan():
				if o, err := meta.Accessor(ev.Object); err != nil || ev.Type != watch.Added || o.GetName() != run.Name {
					t.Errorf("watch after the restart: %s %v, want ADDED %s", ev.Type, ev.Object, run.Name)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("watch from before the restart did not see %s within 10s", run.Name)
			}
			want[kindName("Run", run.Name)] = run.ResourceVersion
			if out := kubectl(t, "", "", "get", "runs", "-n", ns, "-o", "name"); len(strings.Fields(out)) != len(snapshotOf(want, "Run")) {
				t.Errorf("kubectl get runs after the restart:\n%s", out)
			}
		})
	}
}

// snapshot maps "Kind/name" to resourceVersion for every object in the namespace.
func snapshot(t *testing.T, c versioned.Interface, ns string) map[string]string {
	t.Helper()
	ctx := t.Context()
	p := c.PipelinesV1beta1()
	lists := map[string]func() (runtime.Object, error){
		"Experiment":      func() (runtime.Object, error) { return p.Experiments(ns).List(ctx, metav1.ListOptions{}) },
		"Pipeline":        func() (runtime.Object, error) { return p.Pipelines(ns).List(ctx, metav1.ListOptions{}) },
		"PipelineVersion": func() (runtime.Object, error) { return p.PipelineVersions(ns).List(ctx, metav1.ListOptions{}) },
		"Run":             func() (runtime.Object, error) { return p.Runs(ns).List(ctx, metav1.ListOptions{}) },
		"Job":             func() (runtime.Object, error) { return p.Jobs(ns).List(ctx, metav1.ListOptions{}) },
	}
	s := map[string]string{}
	for kind, list := range lists {
		l, err := list()
		if err != nil {
			t.Fatalf("listing %s: %v", kind, err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			o, err := meta.Accessor(item)
			if err != nil {
				t.Fatal(err)
			}
			s[kindName(kind, o.GetName())] = o.GetResourceVersion()
		}
	}
	return s
}

func kindName(kind, name string) string { return kind + "/" + name }

func snapshotOf(s map[string]string, kind string) []string {
	var names []string
	for k := range s {
		if strings.HasPrefix(k, kind+"/") {
			names = append(names, k)
		}
	}
	return names
}

func describe(s map[string]string) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		lines = append(lines, "  "+k+" rv "+s[k])
	}
	return strings.Join(lines, "\n")
}

func revision(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}

func newestRevision(t *testing.T, s map[string]string) int64 {
	t.Helper()
	var newest int64
	for _, rv := range s {
		newest = max(newest, revision(t, rv))
	}
	return newest
}
