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
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// failed is a workflow as Argo leaves one whose step "train" failed after "prepare"
// succeeded, with its exit handler run and "report" skipped.
const failed = `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: w
  labels: {workflows.argoproj.io/completed: "true", workflows.argoproj.io/workflow-archiving-status: Archived, pipelines.kubeflow.org/run: w}
  annotations: {pipelines.kubeflow.org/attempt: "1"}
spec:
  entrypoint: main
  shutdown: Terminate
status:
  phase: Failed
  message: child 'w-2' failed
  startedAt: "2026-03-01T10:00:00Z"
  finishedAt: "2026-03-01T10:05:00Z"
  conditions: [{type: PodRunning, status: "False"}, {type: Completed, status: "True"}]
  nodes:
    w: {id: w, name: w, type: DAG, phase: Failed, message: child 'w-2' failed, finishedAt: "2026-03-01T10:05:00Z",
        children: [w-1], outboundNodes: [w-2, w-3]}
    w-1: {id: w-1, name: w.prepare, type: Pod, phase: Succeeded, children: [w-2, w-3]}
    w-2: {id: w-2, name: w.train, type: Pod, phase: Failed, message: OOMKilled}
    w-3: {id: w-3, name: w.report, type: Skipped, phase: Skipped}
    w-4: {id: w-4, name: w.onExit, type: Pod, phase: Succeeded}
`

func TestRetryFailedSteps(t *testing.T) {
	wf := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(failed), &wf.Object); err != nil {
		t.Fatal(err)
	}
	rerun, err := RetryFailedSteps(wf, 2)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rerun)
	if want := []string{"w.onExit", "w.train"}; !slices.Equal(rerun, want) {
		t.Errorf("steps to run again %v, want %v", rerun, want)
	}
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	got := map[string]string{}
	for id, n := range nodes {
		got[id] = n.(map[string]interface{})["phase"].(string)
	}
	if diff := cmp.Diff(map[string]string{"w": "Running", "w-1": "Succeeded", "w-3": "Skipped"}, got); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	if _, ok := nodes["w"].(map[string]interface{})["finishedAt"]; ok {
		t.Errorf("the DAG node kept its finishedAt")
	}
	// The dropped step is no one's child or outbound node any more.
	links := func(id, field string) []string {
		l, _, _ := unstructured.NestedStringSlice(nodes, id, field)
		return l
	}
	if c, o, c1 := links("w", "children"), links("w", "outboundNodes"), links("w-1", "children"); !slices.Equal(c, []string{"w-1"}) ||
		!slices.Equal(o, []string{"w-3"}) || !slices.Equal(c1, []string{"w-3"}) {
		t.Errorf("children of w %v, its outbound nodes %v, children of w-1 %v; want [w-1], [w-3], [w-3]", c, o, c1)
	}
	// No phase, as a workflow Argo has not taken up yet: Argo admits it again (see
	// RetryFailedSteps); Running would leave it waiting.
	status, _, _ := unstructured.NestedMap(wf.Object, "status")
	if status["phase"] != nil || status["message"] != nil || status["finishedAt"] != nil || status["startedAt"] == nil {
		t.Errorf("status %v: want no phase, message or finishedAt, and startedAt", status)
	}
	conditions, _, _ := unstructured.NestedSlice(wf.Object, "status", "conditions")
	want := []interface{}{
		map[string]interface{}{"type": "PodRunning", "status": "False"},
		map[string]interface{}{"type": "Completed", "status": "False"},
	}
	if diff := cmp.Diff(want, conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	for _, l := range []string{workflow.CompletedLabel, workflow.ArchivingStatusLabel} {
		if _, ok := wf.GetLabels()[l]; ok {
			t.Errorf("label %s was kept", l)
		}
	}
	if wf.GetAnnotations()[AttemptAnnotation] != "2" {
		t.Errorf("attempt annotation %q", wf.GetAnnotations()[AttemptAnnotation])
	}
	if _, ok, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); ok {
		t.Errorf("spec.shutdown was kept")
	}

	// Only a failed workflow is retried.
	if _, err := RetryFailedSteps(wf, 3); err == nil {
		t.Errorf("a retried workflow was retried again")
	}
}
