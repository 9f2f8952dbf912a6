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

package v1beta1_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return scheme
}

func TestJobSpecDefaults(t *testing.T) {
	tests := []struct {
		name        string
		spec        v1beta1.JobSpec
		wantEnabled bool
		wantMax     int32
	}{
		{name: "unset", spec: v1beta1.JobSpec{}, wantEnabled: true, wantMax: 1},
		{name: "disabled is kept", spec: v1beta1.JobSpec{Enabled: ptr(false)}, wantEnabled: false, wantMax: 1},
		{name: "enabled is kept", spec: v1beta1.JobSpec{Enabled: ptr(true), MaxConcurrency: 4}, wantEnabled: true, wantMax: 4},
		{name: "maxConcurrency is kept", spec: v1beta1.JobSpec{MaxConcurrency: 10}, wantEnabled: true, wantMax: 10},
		// Out of range is for validation to report, not for defaulting to hide.
		{name: "invalid maxConcurrency is kept", spec: v1beta1.JobSpec{MaxConcurrency: -3}, wantEnabled: true, wantMax: -3},
	}
	scheme := newScheme()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job := &v1beta1.Job{Spec: tc.spec}
			scheme.Default(job)
			checkDefaults(t, job.Spec, tc.wantEnabled, tc.wantMax)

			list := &v1beta1.JobList{Items: []v1beta1.Job{{Spec: tc.spec}, {Spec: tc.spec}}}
			scheme.Default(list)
			for _, j := range list.Items {
				checkDefaults(t, j.Spec, tc.wantEnabled, tc.wantMax)
			}
		})
	}
}

// TestJobDefaultsOnDecode decodes a job the way the server reads a request body.
func TestJobDefaultsOnDecode(t *testing.T) {
	body := []byte(`{"apiVersion": "pipelines.kubeflow.org/v1beta1", "kind": "Job",
	  "metadata": {"name": "nightly", "namespace": "team-a"},
	  "spec": {"experimentName": "tuning", "pipelineRef": {"pipelineName": "hello"}, "schedule": {"cron": "0 0 2 * * *"}}}`)
	codecs := serializer.NewCodecFactory(newScheme())
	obj, _, err := codecs.UniversalDecoder(pipelines.SchemeGroupVersion).Decode(body, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	job, ok := obj.(*pipelines.Job)
	if !ok {
		t.Fatalf("decoded %T, want *pipelines.Job", obj)
	}
	if job.Spec.Enabled == nil || !*job.Spec.Enabled || job.Spec.MaxConcurrency != 1 {
		t.Errorf("decoded enabled %v, maxConcurrency %d; want true and 1", job.Spec.Enabled, job.Spec.MaxConcurrency)
	}
}

func checkDefaults(t *testing.T, spec v1beta1.JobSpec, wantEnabled bool, wantMax int32) {
	t.Helper()
	if spec.Enabled == nil || *spec.Enabled != wantEnabled {
		t.Errorf("enabled = %v, want %v", spec.Enabled, wantEnabled)
	}
	if spec.MaxConcurrency != wantMax {
		t.Errorf("maxConcurrency = %d, want %d", spec.MaxConcurrency, wantMax)
	}
}

func ptr[T any](v T) *T { return &v }
