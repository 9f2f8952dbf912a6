package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

var recentRunsGVR = schema.GroupVersionResource{Group: framework.Group, Version: framework.Version, Resource: "recentruns"}

// TestRecentRuns: recentruns lists a namespace's or an experiment's runs newest first
// (creationTimestamp descending, then name), in pages, through kube-apiserver, to kubectl
// and to client-go's dynamic client; selectors narrow it; RBAC decides who may list it;
// its resourceVersion is one to watch runs from; runs keep their kubectl names.
func TestRecentRuns(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "exp-a")
	if _, err := c.PipelinesV1beta1().Experiments(ns).Create(t.Context(), newExperiment("exp-b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Three groups a second apart (creation times have whole seconds), named so that
	// neither key order nor creation order within a second is the answer.
	const perGroup = 8
	for g := range 3 {
		if g > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		createRuns(t, c, ns, perGroup, func(i int) *v1beta1.Run {
			n := g*perGroup + i
			exp := []string{"exp-a", "exp-b"}[n%2]
			r := newRun(fmt.Sprintf("r-%02d", (n*7)%(3*perGroup)), exp, "exp-a")
			r.Labels = map[string]string{"group": fmt.Sprint(g)}
			return r
		})
	}
	list, err := c.PipelinesV1beta1().Runs(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runs := list.Items
	sort.Slice(runs, func(i, j int) bool {
		a, b := runs[i].CreationTimestamp, runs[j].CreationTimestamp
		return b.Before(&a) || (a.Equal(&b) && runs[i].Name < runs[j].Name)
	})
	want := func(keep func(r v1beta1.Run) bool) []string {
		var names []string
		for _, r := range runs {
			if keep(r) {
				names = append(names, "run.pipelines.kubeflow.org/"+r.Name)
			}
		}
		return names
	}
	all := want(func(v1beta1.Run) bool { return true })
	if first, last := runs[0].CreationTimestamp, runs[len(runs)-1].CreationTimestamp; !last.Before(&first) {
		t.Fatalf("the runs were all created in one second (%v): the test cannot tell the order", first)
	}

	for _, tc := range []struct {
		name  string
		args  []string
		want  []string
		pages int
	}{
		{"namespace", nil, all, 5},
		{"experiment", []string{"--field-selector=spec.experimentName=exp-a"},
			want(func(r v1beta1.Run) bool { return r.Spec.ExperimentName == "exp-a" }), 3},
		{"labels", []string{"-l", "group in (0,2)"}, want(func(r v1beta1.Run) bool { return r.Labels["group"] != "1" }), 4},
		{"experiment and labels", []string{"--field-selector=spec.experimentName=exp-b", "-l", "group=1"},
			want(func(r v1beta1.Run) bool { return r.Spec.ExperimentName == "exp-b" && r.Labels["group"] == "1" }), 1},
		{"no such experiment", []string{"--field-selector=spec.experimentName=none"}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"get", "recentruns", "-n", ns, "-o", "name", "--chunk-size=5", "-v=6"}, tc.args...)
			stdout, stderr, err := kubectlResult(t, "", "", args...)
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", args, err, stderr)
			}
			if got := strings.Fields(stdout); !slices.Equal(got, tc.want) {
				t.Errorf("kubectl %v:\n got %v\nwant %v", args, got, tc.want)
			}
			pages := 0
			for _, line := range strings.Split(stderr, "\n") {
				if strings.Contains(line, `"Response" verb="GET"`) && strings.Contains(line, "/recentruns?") {
					pages++
				}
			}
			if pages < tc.pages || pages > tc.pages+1 {
				t.Errorf("kubectl read %d pages, want %d (or one more, empty)", pages, tc.pages)
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		out := kubectl(t, "", "", "get", "recentruns", "-n", ns, "--chunk-size=5")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1+len(runs) || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "EXPERIMENT") {
			t.Fatalf("kubectl get recentruns printed:\n%s", out)
		}
		if !strings.HasPrefix(lines[1], runs[0].Name+" ") {
			t.Errorf("first row %q, want the newest run %s", lines[1], runs[0].Name)
		}
	})

	t.Run("every namespace", func(t *testing.T) {
		_, stderr, err := kubectlResult(t, "", "", "get", "recentruns", "-A")
		if err == nil || !strings.Contains(stderr, "one namespace") {
			t.Errorf("kubectl get recentruns -A: %v\n%s", err, stderr)
		}
	})

	t.Run("dynamic client and watch", func(t *testing.T) {
		cfg, err := env.RESTConfig(framework.AdminUser)
		if err != nil {
			t.Fatal(err)
		}
		dyn := dynamic.NewForConfigOrDie(cfg).Resource(recentRunsGVR).Namespace(ns)
		page, err := dyn.List(t.Context(), metav1.ListOptions{Limit: 4, FieldSelector: "spec.experimentName=exp-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 4 || page.GetContinue() == "" || page.Items[0].GetKind() != "Run" || page.GetResourceVersion() == "" {
			t.Fatalf("a page of 4: %d items, continue %q, kind %q, resourceVersion %q",
				len(page.Items), page.GetContinue(), page.Items[0].GetKind(), page.GetResourceVersion())
		}
		if page.Items[0].GetName() != strings.TrimPrefix(want(func(r v1beta1.Run) bool { return r.Spec.ExperimentName == "exp-a" })[0], "run.pipelines.kubeflow.org/") {
			t.Errorf("first of exp-a is %s", page.Items[0].GetName())
		}
		if _, err := dyn.List(t.Context(), metav1.ListOptions{Limit: 4, Continue: "bm90IGEgdG9rZW4"}); !apierrors.IsBadRequest(err) {
			t.Errorf("a continue token that is not one: %v, want 400", err)
		}
		// The page's resourceVersion is where a watch of runs picks up.
		w, err := c.PipelinesV1beta1().Runs(ns).Watch(t.Context(), metav1.ListOptions{ResourceVersion: page.GetResourceVersion()})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), newRun("after-page", "exp-a", "exp-a"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev := <-w.ResultChan():
				if r, ok := ev.Object.(*v1beta1.Run); ok && ev.Type == watch.Added && r.Name == "after-page" {
					return
				}
			case <-timeout:
				t.Fatal("no ADDED event for a run created after the page")
			}
		}
	})

	t.Run("runs keep their names", func(t *testing.T) {
		if out := kubectl(t, "", "", "get", "run", runs[0].Name, "-n", ns, "-o", "name"); strings.TrimSpace(out) != all[0] {
			t.Errorf("kubectl get run %s: %q", runs[0].Name, out)
		}
		manifest := fmt.Sprintf(`{"apiVersion": "%s/%s", "kind": "Run", "metadata": {"name": "applied", "namespace": %q},
			"spec": {"experimentName": "exp-a", "pipelineRef": {"pipelineName": "exp-a"}, "parameters": [{"name": "message", "value": "x"}]}}`,
			framework.Group, framework.Version, ns)
		if out := kubectl(t, "", manifest, "apply", "-f", "-"); !strings.Contains(out, "run.pipelines.kubeflow.org/applied") {
			t.Errorf("kubectl apply of a Run printed %q", out)
		}
		if _, err := c.PipelinesV1beta1().Runs(ns).Get(t.Context(), "applied", metav1.GetOptions{}); err != nil {
			t.Errorf("the applied Run is not a run: %v", err)
		}
	})

	t.Run("rbac", func(t *testing.T) {
		if _, stderr, err := kubectlResult(t, "alice", "", "get", "recentruns", "-n", "team-a"); err != nil {
			t.Errorf("alice (edit in team-a) may not list recentruns there: %v\n%s", err, stderr)
		}
		if _, stderr, err := kubectlResult(t, "bob", "", "get", "recentruns", "-n", "team-a"); err == nil || !strings.Contains(stderr, "Forbidden") {
			t.Errorf("bob lists team-a's recentruns: %v\n%s", err, stderr)
		}
		for _, verb := range []string{"get", "watch", "create", "delete"} {
			if out, _, _ := kubectlResult(t, "alice", "", "auth", "can-i", verb, "recentruns", "-n", "team-a"); strings.TrimSpace(out) != "no" {
				t.Errorf("alice may %s recentruns: %q", verb, out)
			}
		}
	})
}
