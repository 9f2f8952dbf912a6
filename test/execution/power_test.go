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

package execution

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
)

// TestRecreatedVersionIsNotRun: a run pins its version's UID; after the version is
// deleted and re-created under the same name, a retry that needs a new workflow does
// not run the new version: the run ends in Error saying why.
func TestRecreatedVersionIsNotRun(t *testing.T) {
	c, ns, again := runningRun(t, "again")
	endPod(t, again, "Failed")
	waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))
	// Without its workflow, the retry must build a new one from the pinned version.
	if err := dyn.Resource(workflowsResource).Namespace(ns).Delete(t.Context(), "r", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	versions := c.PipelinesV1beta1().PipelineVersions(ns)
	if err := versions.Delete(t.Context(), "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	recreated := &v1beta1.PipelineVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       v1beta1.PipelineVersionSpec{PipelineName: "p", Workflow: runtime.RawExtension{Raw: []byte(twoSteps)}},
	}
	eventually(t, func() error {
		_, err := versions.Create(t.Context(), recreated, metav1.CreateOptions{})
		return err
	})

	if err := action(t.Context(), c, ns, "runs", "r", "retry"); err != nil {
		t.Fatal(err)
	}
	got := waitRun(t, c, ns, "r", "Error", inPhase(v1beta1.RunPhaseError))
	if !strings.Contains(got.Status.Message, "deleted and re-created") {
		t.Errorf("message %q does not say the version was re-created", got.Status.Message)
	}
	if wfs := workflows(t, ns, "r"); len(wfs) != 0 {
		t.Errorf("%d workflows created from the re-created version", len(wfs))
	}
}

// overrides is a workflow whose manifest names accounts of its own for the executor,
// a template and a template default, and opts out of the run's token.
const overrides = `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "spec": {
  "entrypoint": "main", "serviceAccountName": "admin", "automountServiceAccountToken": false,
  "executor": {"serviceAccountName": "admin"},
  "templateDefaults": {"serviceAccountName": "admin"},
  "templates": [{"name": "main", "serviceAccountName": "admin", "executor": {"serviceAccountName": "admin"},
                 "container": {"image": "busybox"}}]}}`

// TestEveryPodRunsAsTheRunsAccount: the workflow the executor creates names the run's
// account, or the server's default, and no other.
func TestEveryPodRunsAsTheRunsAccount(t *testing.T) {
	setup(t)
	ns := newNamespace(t)
	c := clientFor(t, framework.AdminUser)
	fixture(t, c, ns, "p", overrides)
	named := newRun("named", "p")
	named.Spec.ServiceAccountName = "team-runner"
	for _, r := range []*v1beta1.Run{newRun("default", "p"), named} {
		if _, err := c.PipelinesV1beta1().Runs(ns).Create(t.Context(), r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for run, want := range map[string]string{"default": "pipeline-runner", "named": "team-runner"} {
		wf := waitWorkflow(t, ns, run)
		js, err := json.Marshal(wf.Object["spec"])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), "admin") || strings.Contains(string(js), "automountServiceAccountToken") ||
			!strings.Contains(string(js), `"serviceAccountName":"`+want+`"`) {
			t.Errorf("run %s: workflow spec %s, want serviceAccountName %s and no other account", run, js, want)
		}
	}
}
