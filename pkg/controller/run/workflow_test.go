/*
Copyright 2026 The pipelines-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package run

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// manifest is a workflow as the KFP v1 compiler writes it, cut short.
const manifest = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: save-most-frequent-
  namespace: somewhere-else
  annotations:
    pipelines.kubeflow.org/pipeline_spec: '{"name": "Save Most Frequent"}'
  labels:
    pipelines.kubeflow.org/kfp_sdk_version: 1.8.22
spec:
  arguments:
    parameters:
    - name: message
    - name: outputpath
      value: gs://default
    - name: retries
      value: "3"
  entrypoint: save-most-frequent
  serviceAccountName: pipeline-runner
  activeDeadlineSeconds: 9007199254740993
  templates:
  - name: save-most-frequent
    container:
      image: python:3.9
  - name: for-loop-1
    parallelism: 0
    dag:
      tasks:
      - {name: save, template: save-most-frequent}
  - name: for-loop-2
    parallelism: 2
    dag:
      tasks:
      - {name: save, template: save-most-frequent}
status:
  phase: Succeeded
`

func testRun() *v1beta1.Run {
	return &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "team-a", UID: "uid-1"},
		Spec: v1beta1.RunSpec{
			Parameters: []v1beta1.RunParameter{{Name: "message", Value: "hello"}, {Name: "outputpath", Value: "gs://mine"}},
		},
	}
}

func build(t *testing.T, run *v1beta1.Run, attempt int32) *unstructured.Unstructured {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := BuildWorkflow(run, raw, attempt, "default-runner")
	if err != nil {
		t.Fatalf("BuildWorkflow: %v", err)
	}
	return wf
}

func TestBuildWorkflow(t *testing.T) {
	wf := build(t, testRun(), 1)

	if got := wf.GetName(); got != "r1" {
		t.Errorf("name %q, want the run's", got)
	}
	if got := wf.GetGenerateName(); got != "" {
		t.Errorf("generateName %q kept", got)
	}
	if got := wf.GetNamespace(); got != "team-a" {
		t.Errorf("namespace %q, want the run's", got)
	}
	wantLabels := map[string]string{"pipelines.kubeflow.org/kfp_sdk_version": "1.8.22", RunLabel: "r1"}
	if diff := cmp.Diff(wantLabels, wf.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got := wf.GetAnnotations()["pipelines.kubeflow.org/pipeline_spec"]; got == "" {
		t.Errorf("the compiler's annotations were dropped")
	}
	if got := wf.GetAnnotations()[AttemptAnnotation]; got != "1" {
		t.Errorf("attempt annotation %q, want 1", got)
	}
	refs := wf.GetOwnerReferences()
	if len(refs) != 1 || refs[0].APIVersion != "pipelines.kubeflow.org/v1beta1" || refs[0].Kind != "Run" ||
		refs[0].Name != "r1" || refs[0].UID != "uid-1" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Errorf("owner references %+v, want the run as controller", refs)
	}
	params, _, _ := unstructured.NestedSlice(wf.Object, "spec", "arguments", "parameters")
	wantParams := []interface{}{
		map[string]interface{}{"name": "message", "value": "hello"},
		map[string]interface{}{"name": "outputpath", "value": "gs://mine"},
		map[string]interface{}{"name": "retries", "value": "3"},
	}
	if diff := cmp.Diff(wantParams, params); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
	if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != "default-runner" {
		t.Errorf("serviceAccountName %q, want the server's default, not the manifest's, when the run names none", sa)
	}
	if l, _, _ := unstructured.NestedString(wf.Object, "spec", "podMetadata", "labels", RunLabel); l != "r1" {
		t.Errorf("pods are not labelled with the run: %q", l)
	}
	if _, ok := wf.Object["status"]; ok {
		t.Errorf("the manifest's status was kept")
	}
	// KFP v1's parallelism 0 (no limit) is not valid under Argo's schema; a limit stays.
	templates, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
	if _, ok := templates[1].(map[string]interface{})["parallelism"]; ok {
		t.Errorf("parallelism 0 was kept: %v", templates[1])
	}
	if p := templates[2].(map[string]interface{})["parallelism"]; p != int64(2) {
		t.Errorf("parallelism 2 became %v", p)
	}
	// Integers beyond 2^53 survive: the manifest is not read through float64.
	if v, _, _ := unstructured.NestedInt64(wf.Object, "spec", "activeDeadlineSeconds"); v != 9007199254740993 {
		t.Errorf("activeDeadlineSeconds %d", v)
	}
}

func TestBuildWorkflowServiceAccountAndExtraParameters(t *testing.T) {
	run := testRun()
	run.Spec.ServiceAccountName = "team-runner"
	run.Spec.Parameters = append(run.Spec.Parameters, v1beta1.RunParameter{Name: "extra", Value: "x"})
	wf := build(t, run, 3)
	if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != "team-runner" {
		t.Errorf("serviceAccountName %q, want the run's", sa)
	}
	params, _, _ := unstructured.NestedSlice(wf.Object, "spec", "arguments", "parameters")
	if last := params[len(params)-1]; !cmp.Equal(last, map[string]interface{}{"name": "extra", "value": "x"}) {
		t.Errorf("undeclared parameter not appended: %v", params)
	}
	if got := wf.GetName(); got != "r1-retry2" {
		t.Errorf("attempt 3 is named %q", got)
	}
	if got := wf.GetAnnotations()[AttemptAnnotation]; got != "3" {
		t.Errorf("attempt annotation %q, want 3", got)
	}
}

func TestBuildWorkflowRejects(t *testing.T) {
	for _, bad := range []string{``, `[]`, `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"}`, `{"spec": 1}`} {
		if _, err := BuildWorkflow(testRun(), []byte(bad), 1, "default-runner"); err == nil {
			t.Errorf("BuildWorkflow(%q) accepted it", bad)
		}
	}
}

func TestWorkflowName(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		run     string
		attempt int32
		want    string
	}{
		{"r1", 0, "r1"},
		{"r1", 1, "r1"},
		{"r1", 2, "r1-retry1"},
		{"r1", 12, "r1-retry11"},
		{long, 1, long},
	} {
		if got := WorkflowName(tc.run, tc.attempt); got != tc.want {
			t.Errorf("WorkflowName(%q, %d) = %q, want %q", tc.run, tc.attempt, got, tc.want)
		}
	}
	// Cut to a label value, deterministic, and different for runs that share a prefix.
	a, b := WorkflowName(long, 2), WorkflowName(long[:62]+"b", 2)
	if len(a) > 63 || len(validation.IsDNS1123Label(a)) > 0 {
		t.Errorf("WorkflowName of a long run is %q (%d characters)", a, len(a))
	}
	if a != WorkflowName(long, 2) || a == b || !strings.HasSuffix(a, "-retry1") {
		t.Errorf("long names: %q and %q", a, b)
	}
}

// TestBuildWorkflowOnlyTheRunsAccount: every account a manifest names, for the
// executor, a template, a template default or an inline template, gives way to the
// run's, and no pod can opt out of it through automountServiceAccountToken.
func TestBuildWorkflowOnlyTheRunsAccount(t *testing.T) {
	const overrides = `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
  "entrypoint": "main", "serviceAccountName": "admin", "automountServiceAccountToken": false,
  "executor": {"serviceAccountName": "admin"},
  "templateDefaults": {"serviceAccountName": "admin", "executor": {"serviceAccountName": "admin"}},
  "templates": [
    {"name": "main", "serviceAccountName": "admin", "automountServiceAccountToken": true,
     "executor": {"serviceAccountName": "admin"},
     "steps": [[{"name": "s", "inline": {"serviceAccountName": "admin", "container": {"image": "x"}}}]]},
    {"name": "d", "dag": {"tasks": [{"name": "t", "inline": {"executor": {"serviceAccountName": "admin"}, "container": {"image": "x"}}}]}}
  ]}}`
	for _, c := range []struct{ run, want string }{{"", "default-runner"}, {"team-runner", "team-runner"}} {
		run := testRun()
		run.Spec.ServiceAccountName = c.run
		wf, err := BuildWorkflow(run, []byte(overrides), 1, "default-runner")
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(wf.Object)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(js), `"serviceAccountName"`); got != 1 {
			t.Errorf("%d serviceAccountName fields left, want only the workflow's: %s", got, js)
		}
		if strings.Contains(string(js), "admin") || strings.Contains(string(js), "automountServiceAccountToken") {
			t.Errorf("an account override survived: %s", js)
		}
		if sa, _, _ := unstructured.NestedString(wf.Object, "spec", "serviceAccountName"); sa != c.want {
			t.Errorf("run naming %q: serviceAccountName %q, want %q", c.run, sa, c.want)
		}
	}
}
