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
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/argodriver"
)

// TestRecreatedVersionIsNotRun: a run pins its version's UID; after the version is
// deleted and re-created under the same name, a retry that needs a new workflow does
// not run the new version: the run ends in Error saying why.
func TestRecreatedVersionIsNotRun(t *testing.T) {
	c, ns := runningRun(t)
	if err := argo.Finish(t.Context(), ns, "r", "Failed", "a step failed"); err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, ns, "r", "Failed", inPhase(v1beta1.RunPhaseFailed))
	// Without its workflow, the retry must build a new one from the pinned version.
	if err := argo.Dynamic.Resource(argodriver.Workflows).Namespace(ns).Delete(t.Context(), "r", metav1.DeleteOptions{}); err != nil {
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
