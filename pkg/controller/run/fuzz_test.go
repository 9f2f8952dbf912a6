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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
)

// What the executor parses: a pipeline version's manifest with a run's parameters, and
// the status of a workflow, which whoever may edit workflows in the namespace can write.
// Nothing may panic, and the run status made from any workflow must be one the executor
// can store.

func fuzzRun() *v1beta1.Run {
	return &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", UID: "uid"},
		Spec:       v1beta1.RunSpec{ExperimentName: "e", PipelineRef: v1beta1.PipelineRef{PipelineName: "p"}},
		Status:     v1beta1.RunStatus{Phase: v1beta1.RunPhasePending, PipelineVersion: "p", WorkflowName: "r"},
	}
}

func FuzzBuildWorkflow(f *testing.F) {
	for _, m := range []string{
		`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"entrypoint":"e","arguments":{"parameters":[{"name":"a","value":"1"}]},"templates":[{"name":"e","parallelism":0}],"parallelism":0}}`,
		`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":"x","spec":{"arguments":{"parameters":"x"}}}`,
		`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"arguments":{"parameters":[1,null,{"name":2}]},"templates":"x","podMetadata":"x"}}`,
		`{"spec":[]}`, `{"spec":{"templates":[null,1,{"parallelism":"0"}]}}`, `{"metadata":{"labels":[]},"spec":{}}`,
		`[]`, `null`, `"x"`, ``, `{"spec":{"arguments":{"parameters":[{"name":"a","value":1e400}]}}}`,
	} {
		f.Add([]byte(m), "a", "v", "sa")
		f.Add([]byte(m), "CRON_TZ=UTC\t0", "\x00", "\u00a0")
	}
	f.Fuzz(func(t *testing.T, manifest []byte, name, value, sa string) {
		run := fuzzRun()
		run.Spec.Parameters = []v1beta1.RunParameter{{Name: name, Value: value}, {Name: "b", Value: value}}
		run.Spec.ServiceAccountName = sa
		wf, err := BuildWorkflow(run, manifest, 2, "default-runner")
		if err != nil {
			return
		}
		if wf.GetName() != WorkflowName(run.Name, 2) || wf.GetLabels()[RunLabel] != run.Name || !metav1.IsControlledBy(wf, run) {
			t.Fatalf("built workflow lacks the run's identity: %v", wf.Object["metadata"])
		}
	})
}

func FuzzFollowWorkflow(f *testing.F) {
	for _, s := range []string{
		`{"status":{"phase":"Succeeded","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2025-01-01T00:00:00Z","message":"ok",
		  "nodes":{"n1":{"id":"n1","name":"r.a","type":"Pod","phase":"Failed","templateName":"t"},"n2":{"id":"n2","name":"r","type":"DAG","phase":"Failed"},
		  "n3":{"id":"n3","name":"r.onExit","type":"Pod","phase":"Succeeded"}}}}`,
		`{"status":{"phase":"Failed","message":"` + strings.Repeat("x", 40000) + `"}}`,
		`{"status":{"phase":"Error","nodes":{"n":{"type":"Pod","phase":"Failed","message":"` + strings.Repeat("y", 40000) + `"}}}}`,
		`{"status":{"phase":"Bogus\u0000","nodes":{"n":1,"m":null}}}`,
		`{"status":{"phase":1}}`, `{"status":[]}`, `{"status":{"nodes":[]}}`, `{"metadata":{"labels":"x","annotations":[]},"status":{"phase":"Failed","nodes":{"n":"x"}}}`,
		`{"spec":"x","status":{"phase":"Failed"}}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, terminating bool) {
		obj := map[string]interface{}{}
		if utiljson.Unmarshal(data, &obj) != nil {
			return
		}
		wf := &unstructured.Unstructured{Object: obj}
		_, _ = trimWorkflow(wf)
		if st, err := readStatus(wf); err == nil {
			run := fuzzRun()
			run.Status = followWorkflow(&run.Status, st, terminating, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			if errs := validation.ValidateStoredRun(run); len(errs) > 0 {
				t.Fatalf("the run status made from this workflow cannot be stored: %v", errs)
			}
		}
		_, _ = RetryFailedSteps(wf.DeepCopy(), 2)
	})
}
