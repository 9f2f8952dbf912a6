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
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
)

func TestRunPhase(t *testing.T) {
	for _, tc := range []struct {
		workflow    string
		terminating bool
		want        v1beta1.RunPhase
	}{
		{"", false, v1beta1.RunPhasePending},
		{"Pending", false, v1beta1.RunPhasePending},
		{"Running", false, v1beta1.RunPhaseRunning},
		{"Succeeded", false, v1beta1.RunPhaseSucceeded},
		{"Failed", false, v1beta1.RunPhaseFailed},
		{"Error", false, v1beta1.RunPhaseError},
		{"SomethingNew", false, v1beta1.RunPhasePending},
		{"", true, v1beta1.RunPhaseCanceling},
		{"Pending", true, v1beta1.RunPhaseCanceling},
		{"Running", true, v1beta1.RunPhaseCanceling},
		{"Failed", true, v1beta1.RunPhaseCanceled},
		{"Error", true, v1beta1.RunPhaseCanceled},
		// It ended before the shutdown took effect: what happened is what the run says.
		{"Succeeded", true, v1beta1.RunPhaseSucceeded},
	} {
		if got := RunPhase(tc.workflow, tc.terminating); got != tc.want {
			t.Errorf("RunPhase(%q, terminating=%v) = %s, want %s", tc.workflow, tc.terminating, got, tc.want)
		}
	}
}

var base = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ts(sec int) *metav1.Time {
	t := metav1.NewTime(base.Add(time.Duration(sec) * time.Second))
	return &t
}

func TestFollowWorkflow(t *testing.T) {
	now := base.Add(time.Hour)
	nowT := metav1.NewTime(now)
	for _, tc := range []struct {
		name        string
		old         v1beta1.RunStatus
		wf          workflowStatus
		terminating bool
		want        v1beta1.RunStatus
	}{{
		name: "not picked up yet",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhasePending, WorkflowName: "r1", Attempts: 1},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhasePending, WorkflowName: "r1", Attempts: 1},
	}, {
		name: "running",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhasePending},
		wf:   workflowStatus{Phase: "Running", StartedAt: ts(1)},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseRunning, StartTime: ts(1)},
	}, {
		name: "failed",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseRunning, StartTime: ts(1)},
		wf:   workflowStatus{Phase: "Failed", StartedAt: ts(1), FinishedAt: ts(9), Message: "child 'x' failed"},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseFailed, StartTime: ts(1), CompletionTime: ts(9), Message: "child 'x' failed"},
	}, {
		name: "a retry keeps the first start",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhasePending, StartTime: ts(1), Attempts: 2},
		wf:   workflowStatus{Phase: "Succeeded", StartedAt: ts(20), FinishedAt: ts(30)},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseSucceeded, StartTime: ts(1), CompletionTime: ts(30), Attempts: 2},
	}, {
		name: "canceling", terminating: true,
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceling, StartTime: ts(1)},
		wf:   workflowStatus{Phase: "Running", StartedAt: ts(1)},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceling, StartTime: ts(1)},
	}, {
		name: "canceled", terminating: true,
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceling, StartTime: ts(1)},
		wf:   workflowStatus{Phase: "Failed", StartedAt: ts(1), FinishedAt: ts(5), Message: "Stopped with strategy 'Terminate'"},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceled, StartTime: ts(1), CompletionTime: ts(5), Message: "Stopped with strategy 'Terminate'"},
	}, {
		name: "canceled without a message", terminating: true,
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceling},
		wf:   workflowStatus{Phase: "Error", FinishedAt: ts(5)},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseCanceled, CompletionTime: ts(5), Message: "terminated on request"},
	}, {
		name: "finished without a finish time",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseRunning},
		wf:   workflowStatus{Phase: "Succeeded"},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseSucceeded, CompletionTime: &nowT},
	}, {
		name: "finish time before the first start",
		old:  v1beta1.RunStatus{Phase: v1beta1.RunPhaseRunning, StartTime: ts(10)},
		wf:   workflowStatus{Phase: "Succeeded", StartedAt: ts(3), FinishedAt: ts(5)},
		want: v1beta1.RunStatus{Phase: v1beta1.RunPhaseSucceeded, StartTime: ts(10), CompletionTime: ts(10)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := followWorkflow(&tc.old, tc.wf, tc.terminating, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadStatusAndSteps(t *testing.T) {
	wf := &unstructured.Unstructured{Object: map[string]interface{}{
		"metadata": map[string]interface{}{"name": "r1"},
		"status": map[string]interface{}{
			"phase":     "Running",
			"startedAt": "2026-03-01T10:00:01Z",
			"nodes": map[string]interface{}{
				"r1": map[string]interface{}{"id": "r1", "name": "r1", "displayName": "r1", "type": "DAG", "phase": "Running",
					"startedAt": "2026-03-01T10:00:01Z"},
				"r1-2": map[string]interface{}{"id": "r1-2", "name": "r1.train", "displayName": "train", "type": "Pod",
					"templateName": "train", "phase": "Running", "startedAt": "2026-03-01T10:00:05Z"},
				"r1-1": map[string]interface{}{"id": "r1-1", "name": "r1.prepare", "displayName": "prepare", "type": "Pod",
					"templateName": "prepare", "phase": "Succeeded", "startedAt": "2026-03-01T10:00:02Z",
					"finishedAt": "2026-03-01T10:00:04Z", "message": ""},
				"r1-3": map[string]interface{}{"id": "r1-3", "name": "r1.report", "displayName": "report", "type": "Pod",
					"templateName": "report", "phase": "Pending", "startedAt": nil},
				"r1-4": map[string]interface{}{"id": "r1-4", "name": "r1.skip", "displayName": "skip", "type": "Skipped",
					"phase": "Skipped", "message": "when 'false' evaluated false"},
			},
		},
	}}
	st, err := readStatus(wf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != "Running" || !st.StartedAt.Equal(ts(1)) {
		t.Errorf("status %+v", st)
	}
	want := []v1beta1.StepStatus{
		{Name: "prepare", ID: "r1-1", Template: "prepare", Phase: "Succeeded", StartTime: ts(2), CompletionTime: ts(4), Pod: "r1-prepare-3916786309"},
		{Name: "train", ID: "r1-2", Template: "train", Phase: "Running", StartTime: ts(5), Pod: "r1-train-1228316604"},
		{Name: "report", ID: "r1-3", Template: "report", Phase: "Pending", Pod: "r1-report-3274569412"},
		{Name: "skip", ID: "r1-4", Phase: "Skipped", Message: "when 'false' evaluated false"},
	}
	if diff := cmp.Diff(want, steps(st)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestStepsAreCapped(t *testing.T) {
	nodes := map[string]node{}
	for i := range MaxSteps + 50 {
		id := fmt.Sprintf("n%04d", i)
		nodes[id] = node{ID: id, Type: "Pod", DisplayName: fmt.Sprintf("loop(%d)", i), StartedAt: ts(i)}
	}
	got := steps(workflowStatus{Nodes: nodes})
	if len(got) != MaxSteps || got[0].ID != "n0000" || got[MaxSteps-1].ID != fmt.Sprintf("n%04d", MaxSteps-1) {
		t.Errorf("got %d steps from %s to %s", len(got), got[0].ID, got[len(got)-1].ID)
	}
}

func TestTrimWorkflow(t *testing.T) {
	wf := build(t, testRun(), 1)
	wf.Object["status"] = map[string]interface{}{"phase": "Running", "storedTemplates": map[string]interface{}{"x": "y"}}
	_ = unstructured.SetNestedField(wf.Object, "Terminate", "spec", "shutdown")
	wf.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "argo"}})
	obj, err := trimWorkflow(wf)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*unstructured.Unstructured)
	want := map[string]interface{}{"spec": map[string]interface{}{"shutdown": "Terminate"}, "status": map[string]interface{}{"phase": "Running"}}
	if diff := cmp.Diff(want["spec"], got.Object["spec"]); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want["status"], got.Object["status"]); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if got.GetName() != "r1" || got.GetLabels()[RunLabel] != "r1" || len(got.GetManagedFields()) != 0 {
		t.Errorf("metadata %v", got.Object["metadata"])
	}
}

// TestUnfinishedSelector: the selector matches the runs in flight and no finished one,
// through the fields the registry gives a run, and every term of it is an equality on an
// indexed column, so that the storage reads only the runs in flight.
func TestUnfinishedSelector(t *testing.T) {
	sel, err := fields.ParseSelector(UnfinishedSelector)
	if err != nil {
		t.Fatal(err)
	}
	matches := func(p pipelines.RunPhase) bool {
		_, fs, err := runregistry.GetAttrs(&pipelines.Run{Status: pipelines.RunStatus{Phase: p}})
		if err != nil {
			t.Fatal(err)
		}
		return sel.Matches(fs)
	}
	for _, p := range []pipelines.RunPhase{"", pipelines.RunPhasePending, pipelines.RunPhaseRunning, pipelines.RunPhaseCanceling} {
		if !matches(p) {
			t.Errorf("%q does not match %q", p, UnfinishedSelector)
		}
	}
	for p := range runregistry.FinishedPhases {
		if matches(p) {
			t.Errorf("finished phase %q matches %q", p, UnfinishedSelector)
		}
	}
	indexed := map[string]bool{}
	for _, c := range runregistry.Table.Columns {
		indexed[c.Field] = true
	}
	for _, r := range sel.Requirements() {
		if r.Operator != selection.Equals && r.Operator != selection.DoubleEquals || !indexed[r.Field] {
			t.Errorf("%s %s %s is not an equality on an indexed column: the storage would read every run to find those in flight",
				r.Field, r.Operator, r.Value)
		}
	}
}

// TestTaskOutputs: a KFP 2.x task's node gives its output parameters, its artifacts' URIs and
// types and its metrics' values, and says that caching was asked for but nothing was cached;
// the cached (trimmed) workflow keeps what that needs of the templates.
func TestTaskOutputs(t *testing.T) {
	metrics := `{"artifacts":[{"name":"metrics","type":{"schemaTitle":"system.Metrics","schemaVersion":"0.0.1"},` +
		`"uri":"s3://b/p/r1/train/metrics","metadata":{"accuracy":0.9,"display_name":"m","loss":2}}]}`
	data := `{"artifacts":[{"type":{"schemaTitle":"system.Dataset"},"uri":"s3://b/p/r1/train/data"}]}`
	outputs := func(name string) map[string]any {
		return map[string]any{"name": name, "valueFrom": map[string]any{"path": "/kfp/outputs/" + name}}
	}
	wf := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "r1"},
		"spec": map[string]any{"templates": []any{
			map[string]any{"name": "root", "dag": map[string]any{}},
			map[string]any{"name": "train",
				"metadata":  map[string]any{"annotations": map[string]any{compiler.EnableCacheAnnotation: "true"}},
				"container": map[string]any{"image": "python", "args": []any{"--spec=big"}},
				"outputs": map[string]any{"parameters": []any{
					map[string]any{"name": "Output", "valueFrom": map[string]any{"path": "/kfp/outputs/parameters/Output"}},
					map[string]any{"name": "metrics", "valueFrom": map[string]any{"path": "/kfp/outputs/artifacts/metrics"}},
					map[string]any{"name": "data", "valueFrom": map[string]any{"path": "/kfp/outputs/artifacts/data"}},
				}}},
			map[string]any{"name": "plain",
				"metadata": map[string]any{"annotations": map[string]any{compiler.EnableCacheAnnotation: "false"}},
				"outputs":  map[string]any{"parameters": []any{outputs("x")}}},
		}},
		"status": map[string]any{"nodes": map[string]any{
			"r1-1": map[string]any{"id": "r1-1", "name": "r1.train", "displayName": "train", "type": "Pod", "templateName": "train",
				"phase": "Succeeded", "outputs": map[string]any{"parameters": []any{
					map[string]any{"name": "metrics", "value": metrics},
					map[string]any{"name": "Output", "value": "[1, 2]"},
					map[string]any{"name": "data", "value": data},
				}}},
			"r1-2": map[string]any{"id": "r1-2", "name": "r1.plain", "displayName": "plain", "type": "Pod", "templateName": "plain",
				"phase": "Running"},
		}},
	}}
	trimmed, err := trimWorkflow(wf)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedSlice(trimmed.(*unstructured.Unstructured).Object, "spec", "templates", "1", "container"); found {
		t.Errorf("the trimmed workflow keeps containers")
	}
	for name, w := range map[string]*unstructured.Unstructured{"workflow": wf, "trimmed": trimmed.(*unstructured.Unstructured)} {
		st, err := readStatus(w)
		if err != nil {
			t.Fatal(err)
		}
		got := steps(st)
		want := []v1beta1.StepStatus{
			{Name: "train", ID: "r1-1", Template: "train", Phase: "Succeeded", Pod: podName("r1", node{Name: "r1.train", TemplateName: "train"}),
				Cache:            v1beta1.StepCacheNotCached,
				OutputParameters: []v1beta1.StepOutputParameter{{Name: "Output", Value: "[1, 2]"}},
				OutputArtifacts: []v1beta1.StepOutputArtifact{
					{Name: "metrics", URI: "s3://b/p/r1/train/metrics", Type: "system.Metrics",
						Metrics: []v1beta1.StepMetric{{Name: "accuracy", Value: "0.9"}, {Name: "loss", Value: "2"}}},
					{Name: "data", URI: "s3://b/p/r1/train/data", Type: "system.Dataset"},
				}},
			{Name: "plain", ID: "r1-2", Template: "plain", Phase: "Running", Pod: podName("r1", node{Name: "r1.plain", TemplateName: "plain"}),
				Cache: v1beta1.StepCacheDisabled},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: steps (-want +got):\n%s", name, diff)
		}
	}
}
