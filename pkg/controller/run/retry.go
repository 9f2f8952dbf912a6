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
// way Kubeflow Pipelines retries a run: the steps that succeeded or were skipped keep
// their results; failed steps (and the exit handler) are dropped from status.nodes, so
// that Argo's controller runs them again; the groups above them are Running again; so is
// the workflow. It returns the node names of the dropped steps, whose pods must be
// deleted before Argo can create them anew.
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
	status["phase"] = WorkflowRunning
	delete(status, "message")
	delete(status, "finishedAt")
	if spec, ok := wf.Object["spec"].(map[string]interface{}); ok {
		delete(spec, "shutdown")
	}
	labels := wf.GetLabels()
	delete(labels, workflow.CompletedLabel)
	wf.SetLabels(labels)
	annotations := wf.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AttemptAnnotation] = strconv.Itoa(int(attempt))
	wf.SetAnnotations(annotations)
	return rerun, nil
}
