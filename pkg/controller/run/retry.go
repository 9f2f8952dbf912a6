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
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// groupNodeTypes are the nodes that group steps; a retry runs them again rather than
// dropping them, so that Argo re-enters them.
var groupNodeTypes = sets.New("DAG", "StepGroup", "Steps", "TaskGroup")

// RetryFailedSteps turns a finished, failed workflow into the given attempt of it, the
// way Kubeflow Pipelines retries a run (after Argo's own retry): the steps that succeeded
// or were skipped keep their results; failed steps (and the exit handler) are dropped from
// status.nodes and from their parents' children, so that Argo's controller runs them again;
// the groups above them are Running again. The workflow itself goes back to no phase, as
// a workflow Argo has not yet taken up: Argo's controller then starts it again as it
// starts a new one. It returns the node names of the dropped steps, whose pods must be
// deleted before Argo can create them anew.
//
// Not Running: Argo (v4) lets a workflow run only once its throttler admitted it; it
// admits it when the completed label goes, but after persisting the failure it waits a
// second and then takes the finished workflow out again, so a retry within that second
// is left out. A Running workflow stays out ("postponed due to max parallelism limit")
// until something updates it; one with no phase is marked Pending at once, and that
// update has it admitted.
func RetryFailedSteps(wf *unstructured.Unstructured, attempt int32) ([]string, error) {
	status, _ := wf.Object["status"].(map[string]interface{})
	phase, _ := status["phase"].(string)
	if phase != WorkflowFailed && phase != WorkflowError {
		return nil, fmt.Errorf("workflow %s is %q: only a failed workflow is retried", wf.GetName(), phase)
	}
	nodes, _ := status["nodes"].(map[string]interface{})
	onExit := wf.GetName() + ".onExit"
	var rerun []string
	for id, n := range nodes {
		n, ok := n.(map[string]interface{})
		if !ok {
			delete(nodes, id)
			continue
		}
		name, _ := n["name"].(string)
		typ, _ := n["type"].(string)
		p, _ := n["phase"].(string)
		exitHandler := strings.HasPrefix(name, onExit)
		switch {
		case !exitHandler && (p == "Succeeded" || p == "Skipped"):
			continue
		case !exitHandler && groupNodeTypes.Has(typ):
			n["phase"] = WorkflowRunning
			delete(n, "message")
			delete(n, "finishedAt")
			continue
		case typ == "Pod":
			rerun = append(rerun, name)
		}
		delete(nodes, id)
	}
	// What is left must not point at what was dropped.
	for _, n := range nodes {
		n := n.(map[string]interface{})
		for _, field := range []string{"children", "outboundNodes"} {
			ids, _ := n[field].([]interface{})
			kept := slices.DeleteFunc(ids, func(id interface{}) bool {
				s, _ := id.(string)
				_, ok := nodes[s]
				return !ok
			})
			if len(kept) == 0 {
				delete(n, field)
			} else {
				n[field] = kept
			}
		}
	}
	delete(status, "phase")
	delete(status, "message")
	delete(status, "finishedAt")
	completedFalse(status)
	if spec, ok := wf.Object["spec"].(map[string]interface{}); ok {
		delete(spec, "shutdown")
	}
	if stored, ok := status["storedWorkflowTemplateSpec"].(map[string]interface{}); ok {
		delete(stored, "shutdown")
	}
	labels := wf.GetLabels()
	delete(labels, workflow.CompletedLabel)
	delete(labels, workflow.ArchivingStatusLabel)
	wf.SetLabels(labels)
	annotations := wf.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AttemptAnnotation] = strconv.Itoa(int(attempt))
	wf.SetAnnotations(annotations)
	return rerun, nil
}

// completedFalse sets the workflow's condition Completed to False, as Argo's retry does.
func completedFalse(status map[string]interface{}) {
	conditions, _ := status["conditions"].([]interface{})
	conditions = slices.DeleteFunc(conditions, func(c interface{}) bool {
		m, _ := c.(map[string]interface{})
		return m["type"] == "Completed"
	})
	status["conditions"] = append(conditions, map[string]interface{}{"type": "Completed", "status": "False"})
}
