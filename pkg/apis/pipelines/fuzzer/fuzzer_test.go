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

package fuzzer

import (
	"math/rand"
	"testing"

	apifuzzer "k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
)

// TestFuncsMakeValidEnoughObjects checks what the round-trip test relies on.
func TestFuncsMakeValidEnoughObjects(t *testing.T) {
	seed := rand.Int63()
	t.Logf("seed %d", seed)
	f := apifuzzer.FuzzerFor(apifuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, Funcs), rand.NewSource(seed),
		runtimeserializer.NewCodecFactory(runtime.NewScheme()))
	var absent int
	for i := 0; i < 200; i++ {
		var v pipelines.PipelineVersion
		f.Fill(&v)
		if v.Spec.Workflow.Object != nil {
			t.Fatalf("workflow has a decoded object; only Raw is serialized: %#v", v.Spec.Workflow.Object)
		}
		if v.Spec.Workflow.Raw == nil {
			absent++
		} else {
			p := field.NewPath("spec", "workflow")
			w, errs := workflow.Parse(v.Spec.Workflow.Raw, p)
			if len(errs) == 0 {
				errs = w.Validate(p)
			}
			if len(errs) > 0 {
				t.Fatalf("workflow %s: %v", v.Spec.Workflow.Raw, errs)
			}
		}

		var j pipelines.Job
		f.Fill(&j)
		if j.Spec.Enabled == nil || j.Spec.MaxConcurrency < 1 || j.Spec.MaxConcurrency > 10 {
			t.Fatalf("job spec not as defaulted: enabled %v, maxConcurrency %d", j.Spec.Enabled, j.Spec.MaxConcurrency)
		}
		if s := j.Spec.Schedule; (s.Cron == "") == (s.IntervalSeconds == 0) || s.IntervalSeconds < 0 {
			t.Fatalf("schedule needs exactly one of cron and a positive interval: %+v", s)
		}
	}
	if absent == 0 || absent == 200 {
		t.Errorf("%d of 200 workflows absent; want some absent and some present", absent)
	}
}
