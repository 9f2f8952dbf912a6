package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// resources are what the server serves: plural, kind, short name.
var resources = []struct{ plural, kind, short string }{
	{"experiments", "Experiment", "kfpexp"},
	{"jobs", "Job", "kfpjob"},
	{"pipelines", "Pipeline", "kfppl"},
	{"pipelineversions", "PipelineVersion", "kfpplv"},
	{"runs", "Run", "kfprun"},
}

var crudVerbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}

// TestDiscovery: discovery through kube-apiserver lists the five resources with their
// verbs, short names, category and status subresources, and the list-only recentruns;
// kubectl api-resources and kubectl explain show them.
func TestDiscovery(t *testing.T) {
	env := setup(t)

	t.Run("clientset", func(t *testing.T) {
		c := clientFor(t, framework.AdminUser)
		list, err := c.Discovery().ServerResourcesForGroupVersion(framework.Group + "/" + framework.Version)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			byName[r.Name] = r
		}
		for _, want := range resources {
			r, ok := byName[want.plural]
			if !ok {
				t.Errorf("discovery lacks %s: %v", want.plural, list.APIResources)
				continue
			}
			if r.Kind != want.kind || !r.Namespaced {
				t.Errorf("%s: kind %q namespaced %v, want %q namespaced", want.plural, r.Kind, r.Namespaced, want.kind)
			}
			if !slices.Equal(r.ShortNames, []string{want.short}) {
				t.Errorf("%s: short names %v, want [%s]", want.plural, r.ShortNames, want.short)
			}
			if !slices.Contains(r.Categories, "kfp") {
				t.Errorf("%s: categories %v lack kfp", want.plural, r.Categories)
			}
			for _, verb := range crudVerbs {
				if !slices.Contains(r.Verbs, verb) {
					t.Errorf("%s: verbs %v lack %s", want.plural, r.Verbs, verb)
				}
			}
			status, ok := byName[want.plural+"/status"]
			if !ok {
				t.Errorf("discovery lacks %s/status", want.plural)
			} else if !slices.Contains(status.Verbs, "update") || !slices.Contains(status.Verbs, "patch") {
				t.Errorf("%s/status verbs %v, want get, patch, update", want.plural, status.Verbs)
			}
		}
	})

	t.Run("recentruns", func(t *testing.T) {
		c := clientFor(t, framework.AdminUser)
		list, err := c.Discovery().ServerResourcesForGroupVersion(framework.Group + "/" + framework.Version)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "recentruns" })
		if i < 0 {
			t.Fatalf("discovery lacks recentruns: %v", list.APIResources)
		}
		r := list.APIResources[i]
		if r.Kind != "RecentRun" || !r.Namespaced || r.SingularName != "recentrun" || !slices.Equal(r.Verbs, []string{"list"}) || len(r.Categories) != 0 {
			t.Errorf("recentruns: %+v, want kind RecentRun, namespaced, singular recentrun, verbs [list], no category", r)
		}
	})

	t.Run("api-resources", func(t *testing.T) {
		out := kubectl(t, "", "", "api-resources", "--api-group="+framework.Group, "-o", "wide", "--no-headers")
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			// recentruns, list-only, is checked above.
			if !strings.HasPrefix(line, "recentruns ") {
				lines = append(lines, line)
			}
		}
		if len(lines) != len(resources) {
			t.Fatalf("kubectl api-resources printed %d resources, want %d:\n%s", len(lines), len(resources), out)
		}
		for i, want := range resources {
			// NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS CATEGORIES
			fields := strings.Fields(lines[i])
			wantFields := []string{want.plural, want.short, framework.Group + "/" + framework.Version, "true", want.kind}
			if len(fields) < 7 || !slices.Equal(fields[:5], wantFields) || fields[6] != "kfp" {
				t.Errorf("line %d: %q, want %v ... kfp", i, lines[i], wantFields)
			}
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := kubectl(t, "", "", "explain", "runs.spec")
		for _, want := range []string{
			"KIND:       Run", "GROUP:      pipelines.kubeflow.org", "VERSION:    v1beta1",
			"experimentName\t<string> -required-",
			"ExperimentName is the Experiment, in the same namespace, the run belongs to.",
			"pipelineRef\t<PipelineRef> -required-",
			"parameters\t<[]RunParameter>",
			"serviceAccountName\t<string>",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl explain runs.spec lacks %q:\n%s", want, out)
			}
		}
		out = kubectl(t, "", "", "explain", "pipelineversions.spec.workflow")
		if !strings.Contains(out, "Argo Workflow") {
			t.Errorf("kubectl explain pipelineversions.spec.workflow:\n%s", out)
		}
	})

	t.Run("category", func(t *testing.T) {
		ns := newNamespace(t)
		c := clientFor(t, framework.AdminUser)
		fixture(t, c, ns, "cat")
		out := kubectl(t, "", "", "get", "kfp", "-n", ns, "-o", "name")
		for _, want := range []string{"experiment.pipelines.kubeflow.org/cat", "pipeline.pipelines.kubeflow.org/cat", "pipelineversion.pipelines.kubeflow.org/cat-v1"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get kfp lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("openapi", func(t *testing.T) {
		c := clientFor(t, framework.AdminUser)
		// kube-apiserver merges the server's OpenAPI documents into its own some time after
		// the APIService becomes Available; the environment waits for v3 only.
		for _, path := range []string{"/openapi/v3/apis/pipelines.kubeflow.org/v1beta1", "/openapi/v2"} {
			eventually(t, time.Minute, func() error {
				body, err := c.Discovery().RESTClient().Get().AbsPath(path).DoRaw(t.Context())
				if err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if !strings.Contains(string(body), "v1beta1.Run") {
					return fmt.Errorf("GET %s does not describe Run", path)
				}
				return nil
			})
		}
	})
	_ = env
}
