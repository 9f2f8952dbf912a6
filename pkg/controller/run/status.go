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
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/compiler"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
)

// Argo's workflow and node phases.
const (
	WorkflowPending   = "Pending"
	WorkflowRunning   = "Running"
	WorkflowSucceeded = "Succeeded"
	WorkflowFailed    = "Failed"
	WorkflowError     = "Error"
)

// MaxSteps is how many steps a run's status lists at most: a loop over thousands of
// items would otherwise make the run too large to store.
const MaxSteps = 200

// stepNodeTypes are the workflow nodes that are steps of the pipeline; the others
// (DAG, Steps, StepGroup, TaskGroup, Retry) group them.
var stepNodeTypes = sets.New("Pod", "Container", "Suspend", "Skipped", "HTTP", "Plugin")

// Finished says whether a run in phase p has ended (runregistry.FinishedPhases).
func Finished(p v1beta1.RunPhase) bool { return runregistry.FinishedPhases.Has(pipelines.RunPhase(p)) }

// UnfinishedSelector is a field selector of the runs that have not ended. The
// controllers cache only those, so that the leader's memory follows the runs in flight
// rather than every run stored; a run that ends leaves the cache as a deletion. It is an
// equality on an indexed column, so that listing them reads the runs in flight only: a
// selector of phases (status.phase!=Succeeded,...) read every stored run, which at 10M
// runs kept the informers from ever syncing.
var UnfinishedSelector = runregistry.FinishedField + "=false"

// workflowStatus is the part of an Argo Workflow's status a run follows.
type workflowStatus struct {
	Phase      string          `json:"phase,omitempty"`
	StartedAt  *metav1.Time    `json:"startedAt,omitempty"`
	FinishedAt *metav1.Time    `json:"finishedAt,omitempty"`
	Message    string          `json:"message,omitempty"`
	Nodes      map[string]node `json:"nodes,omitempty"`

	// Workflow is the workflow's name and Templates what the status reads of its
	// templates, by name (not part of Argo's status).
	Workflow  string                  `json:"-"`
	Templates map[string]templateInfo `json:"-"`
}

// templateInfo is what a run's status reads of a workflow template: which output
// parameters carry a KFP launcher's artifact lists, and whether the task asked for caching
// ("" when the template is not a KFP 2.x task).
type templateInfo struct {
	artifacts   sets.Set[string]
	enableCache string
}

// node is one node of a workflow's status.nodes.
type node struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	DisplayName  string       `json:"displayName,omitempty"`
	Type         string       `json:"type"`
	TemplateName string       `json:"templateName,omitempty"`
	Phase        string       `json:"phase,omitempty"`
	StartedAt    *metav1.Time `json:"startedAt,omitempty"`
	FinishedAt   *metav1.Time `json:"finishedAt,omitempty"`
	Message      string       `json:"message,omitempty"`
	Outputs      *struct {
		Parameters []struct {
			Name  string  `json:"name"`
			Value *string `json:"value,omitempty"`
		} `json:"parameters,omitempty"`
	} `json:"outputs,omitempty"`
}

// readStatus reads a workflow's status.
func readStatus(wf *unstructured.Unstructured) (workflowStatus, error) {
	var st workflowStatus
	raw, ok := wf.Object["status"].(map[string]interface{})
	if !ok {
		return st, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st); err != nil {
		return st, fmt.Errorf("reading the status of workflow %s: %w", wf.GetName(), err)
	}
	st.Workflow = wf.GetName()
	st.Templates = readTemplates(wf)
	return st, nil
}

// readTemplates reads what the steps' status needs of the workflow's templates
// (taskTemplates), by template name.
func readTemplates(wf *unstructured.Unstructured) map[string]templateInfo {
	out := map[string]templateInfo{}
	for _, t := range taskTemplates(wf) {
		tm := t.(map[string]any)
		name, _, _ := unstructured.NestedString(tm, "name")
		info := templateInfo{artifacts: sets.New[string]()}
		info.enableCache, _, _ = unstructured.NestedString(tm, "metadata", "annotations", compiler.EnableCacheAnnotation)
		params, _, _ := unstructured.NestedSlice(tm, "outputs", "parameters")
		for _, p := range params {
			pm := p.(map[string]any)
			n, _, _ := unstructured.NestedString(pm, "name")
			if path, _, _ := unstructured.NestedString(pm, "valueFrom", "path"); strings.HasPrefix(path, launcherspec.OutputDir+"/artifacts/") {
				info.artifacts.Insert(n)
			}
		}
		out[name] = info
	}
	return out
}

// taskTemplates are the workflow's templates of KFP 2.x tasks (those the compiler gave
// compiler.EnableCacheAnnotation), cut to their name, that annotation and their output
// parameters' names and paths: what the steps' status reads of them.
func taskTemplates(wf *unstructured.Unstructured) []any {
	list, _, _ := unstructured.NestedSlice(wf.Object, "spec", "templates")
	var out []any
	for _, item := range list {
		t, ok := item.(map[string]any)
		if !ok {
			continue
		}
		cache, ok, _ := unstructured.NestedString(t, "metadata", "annotations", compiler.EnableCacheAnnotation)
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(t, "name")
		var params []any
		list, _, _ := unstructured.NestedSlice(t, "outputs", "parameters")
		for _, p := range list {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			n, _, _ := unstructured.NestedString(pm, "name")
			path, _, _ := unstructured.NestedString(pm, "valueFrom", "path")
			params = append(params, map[string]any{"name": n, "valueFrom": map[string]any{"path": path}})
		}
		out = append(out, map[string]any{
			"name":     name,
			"metadata": map[string]any{"annotations": map[string]any{compiler.EnableCacheAnnotation: cache}},
			"outputs":  map[string]any{"parameters": params},
		})
	}
	return out
}

// workflowFinished says whether a workflow in phase p has ended.
func workflowFinished(p string) bool {
	return p == WorkflowSucceeded || p == WorkflowFailed || p == WorkflowError
}

// RunPhase is the phase of a run whose workflow is in wfPhase. terminating says the
// run was asked to terminate: it is Canceling until the workflow ends, and Canceled if
// the workflow then failed (as Argo fails a workflow it shuts down). A workflow that
// succeeded before the shutdown took effect leaves the run Succeeded.
func RunPhase(wfPhase string, terminating bool) v1beta1.RunPhase {
	switch wfPhase {
	case WorkflowSucceeded:
		return v1beta1.RunPhaseSucceeded
	case WorkflowFailed, WorkflowError:
		if terminating {
			return v1beta1.RunPhaseCanceled
		}
		if wfPhase == WorkflowFailed {
			return v1beta1.RunPhaseFailed
		}
		return v1beta1.RunPhaseError
	}
	// Pending, Running, or not yet picked up by Argo's controller.
	switch {
	case terminating:
		return v1beta1.RunPhaseCanceling
	case wfPhase == WorkflowRunning:
		return v1beta1.RunPhaseRunning
	default:
		return v1beta1.RunPhasePending
	}
}

// followWorkflow returns the status of a run whose workflow's status is wf: its phase,
// start and completion time, message and steps. The start time is the first attempt's:
// a retried run started when it first ran.
func followWorkflow(old *v1beta1.RunStatus, wf workflowStatus, terminating bool, now time.Time) v1beta1.RunStatus {
	st := *old.DeepCopy()
	st.Phase = RunPhase(wf.Phase, terminating)
	if st.StartTime == nil && wf.StartedAt != nil && !wf.StartedAt.IsZero() {
		st.StartTime = wf.StartedAt.DeepCopy()
	}
	st.CompletionTime = nil
	if Finished(st.Phase) {
		switch {
		case wf.FinishedAt != nil && !wf.FinishedAt.IsZero():
			st.CompletionTime = wf.FinishedAt.DeepCopy()
		case old.CompletionTime != nil:
			st.CompletionTime = old.CompletionTime.DeepCopy()
		default:
			t := metav1.NewTime(now)
			st.CompletionTime = &t
		}
		if st.StartTime != nil && st.CompletionTime.Before(st.StartTime) {
			st.CompletionTime = st.StartTime.DeepCopy()
		}
	}
	// Whoever may edit the workflow writes its message: cut to what a run may store.
	st.Message = cut(wf.Message, validation.MaxMessageLength)
	if st.Phase == v1beta1.RunPhaseCanceled && st.Message == "" {
		st.Message = "terminated on request"
	}
	st.Steps = steps(wf)
	return st
}

// steps summarises a workflow's step nodes, in the order they started; those not yet
// started come last, and ties go by node ID, so the order is stable.
func steps(wf workflowStatus) []v1beta1.StepStatus {
	var out []v1beta1.StepStatus
	for id, n := range wf.Nodes {
		if !stepNodeTypes.Has(n.Type) {
			continue
		}
		name := n.DisplayName
		if name == "" {
			name = n.Name
		}
		if n.ID == "" {
			n.ID = id
		}
		step := v1beta1.StepStatus{
			Name: name, ID: n.ID, Template: n.TemplateName, Phase: n.Phase,
			StartTime: nonZero(n.StartedAt), CompletionTime: nonZero(n.FinishedAt), Message: cut(n.Message, validation.MaxMessageLength),
		}
		if n.Type == "Pod" {
			step.Pod = podName(wf.Workflow, n)
		}
		taskOutputs(&step, n, wf.Templates[n.TemplateName])
		out = append(out, step)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].StartTime, out[j].StartTime
		switch {
		case a == nil && b == nil, a != nil && b != nil && a.Equal(b):
			return out[i].ID < out[j].ID
		case a == nil || b == nil:
			return b == nil
		default:
			return a.Before(b)
		}
	})
	if len(out) > MaxSteps {
		out = out[:MaxSteps]
	}
	return out
}

func nonZero(t *metav1.Time) *metav1.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.DeepCopy()
}

// cut shortens s to at most n bytes, on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
