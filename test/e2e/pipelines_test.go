package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// kfpTestdata holds Argo Workflows compiled by the KFP v1 SDK (../shared, beside the
// repository; always present in CI).
var kfpTestdata = filepath.Join("..", "..", "..", "shared", "testdata", "kfp-v1")

// TestKFPv1Workflows: every workflow the KFP v1 SDK compiled is accepted unedited as a
// pipeline version, its parameters are extracted, and a run of it is created.
func TestKFPv1Workflows(t *testing.T) {
	setup(t)
	files, _ := filepath.Glob(filepath.Join(kfpTestdata, "*.yaml"))
	if len(files) == 0 {
		if os.Getenv(framework.EnvRequireTestDeps) == "1" {
			t.Fatalf("no KFP v1 workflows in %s", kfpTestdata)
		}
		t.Skipf("no KFP v1 workflows in %s (the shared test data beside the repository)", kfpTestdata)
	}
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "kfp")
	p := c.PipelinesV1beta1()
	for _, file := range files {
		name := "kfp-" + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(file), ".yaml"), "_", "-")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := utilyaml.ToJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			v := newPipelineVersion(name, "kfp")
			v.Spec.Workflow = runtime.RawExtension{Raw: raw}
			created, err := p.PipelineVersions(ns).Create(t.Context(), v, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("creating a version from %s: %v", file, err)
			}
			var sent, stored map[string]any
			if err := json.Unmarshal(raw, &sent); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(created.Spec.Workflow.Raw, &stored); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sent, stored) {
				t.Errorf("the workflow was not stored as given")
			}

			// Parameters: spec.arguments.parameters, with their values as defaults.
			var wf struct {
				Spec struct {
					Arguments struct {
						Parameters []struct {
							Name  string  `json:"name"`
							Value *string `json:"value"`
						} `json:"parameters"`
					} `json:"arguments"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(raw, &wf); err != nil {
				t.Fatal(err)
			}
			var want, got []string
			var params []v1beta1.RunParameter
			for _, p := range wf.Spec.Arguments.Parameters {
				want = append(want, p.Name+"="+ptrString(p.Value))
				params = append(params, v1beta1.RunParameter{Name: p.Name, Value: "given"})
			}
			for _, p := range created.Status.Parameters {
				got = append(got, p.Name+"="+ptrString(p.Default))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("status.parameters %v, want %v", got, want)
			}

			run := newRun(name, "kfp", "kfp")
			run.Spec.PipelineRef.VersionName = name
			run.Spec.Parameters = params
			created2, err := p.Runs(ns).Create(t.Context(), run, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("creating a run: %v", err)
			}
			if created2.Status.PipelineVersion != name {
				t.Errorf("run pinned %q, want %q", created2.Status.PipelineVersion, name)
			}
		})
	}
}

func ptrString(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// TestPipelineVersions: a run without versionName runs the pipeline's latest version and
// pins it; deleting the pipeline deletes its versions, although this cluster has no
// garbage collector, and leaves the runs' pinned versions alone.
func TestPipelineVersions(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "pv")
	p := c.PipelinesV1beta1()
	ctx := t.Context()

	r1, err := p.Runs(ns).Create(ctx, newRun("r1", "pv", "pv"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PipelineVersions(ns).Create(ctx, newPipelineVersion("pv-v2", "pv"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pipeline, err := p.Pipelines(ns).Get(ctx, "pv", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pipeline.Status.LatestVersion != "pv-v2" || pipeline.Status.VersionCount != 2 {
		t.Errorf("pipeline status %+v, want latest pv-v2 of 2", pipeline.Status)
	}
	r2, err := p.Runs(ns).Create(ctx, newRun("r2", "pv", "pv"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := newRun("r3", "pv", "pv")
	old.Spec.PipelineRef.VersionName = "pv-v1"
	r3, err := p.Runs(ns).Create(ctx, old, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for run, want := range map[*v1beta1.Run]string{r1: "pv-v1", r2: "pv-v2", r3: "pv-v1"} {
		if run.Status.PipelineVersion != want {
			t.Errorf("%s pinned %q, want %q", run.Name, run.Status.PipelineVersion, want)
		}
	}

	if err := p.Pipelines(ns).Delete(ctx, "pv", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		list, err := p.PipelineVersions(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 0 {
			return fmt.Errorf("versions left after their pipeline was deleted: %d", len(list.Items))
		}
		return nil
	})
	if _, err := p.Pipelines(ns).Get(ctx, "pv", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pipeline after delete: %v", err)
	}
	for _, name := range []string{"r1", "r2", "r3"} {
		run, err := p.Runs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("run %s after its pipeline was deleted: %v", name, err)
		}
		if run.Status.PipelineVersion == "" {
			t.Errorf("run %s lost its pinned version", name)
		}
	}
}
