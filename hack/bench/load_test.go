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

package main

import (
	"bytes"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apiserver"
)

// A loaded run is what the server would have stored for it: the template run as the
// storage codec stores it, with its names, uid, creation time and owner swapped.
func TestStoredTemplateRendersARun(t *testing.T) {
	codec, err := apiserver.StorageCodec(pipelines.Resource("runs"))
	if err != nil {
		t.Fatal(err)
	}
	created := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	owner := types.UID("00000000-0000-4000-8000-0000000000aa")
	yes := true
	tmpl := &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: templateName, Namespace: templateNamespace, UID: "00000000-0000-4000-8000-000000000001",
			CreationTimestamp: created, OwnerReferences: []metav1.OwnerReference{{APIVersion: v1beta1.SchemeGroupVersion.String(),
				Kind: "Experiment", Name: templateExperiment, UID: owner, Controller: &yes}}},
		Spec:   v1beta1.RunSpec{ExperimentName: templateExperiment, PipelineRef: v1beta1.PipelineRef{PipelineName: "p", VersionName: "v"}},
		Status: v1beta1.RunStatus{Phase: v1beta1.RunPhaseSucceeded, StartTime: &created, WorkflowName: templateName},
	}
	internal := &pipelines.Run{}
	if err := apiserver.Scheme.Convert(tmpl, internal, nil); err != nil {
		t.Fatal(err)
	}
	var stored bytes.Buffer
	if err := codec.Encode(internal, &stored); err != nil {
		t.Fatal(err)
	}
	st, err := newStoredTemplate(stored.Bytes(), tmpl, string(owner))
	if err != nil {
		t.Fatal(err)
	}

	later := created.Add(time.Hour)
	data, err := st.render("ns-7", "run-0000007", "exp-007", "00000000-0000-4000-8000-000000000007", later, "00000000-0000-4000-8000-0000000000bb")
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := codec.Decode(data, nil, &pipelines.Run{})
	if err != nil {
		t.Fatal(err)
	}
	got := &v1beta1.Run{}
	if err := apiserver.Scheme.Convert(obj, got, nil); err != nil {
		t.Fatal(err)
	}
	want := tmpl.DeepCopy()
	want.Name, want.Namespace, want.UID = "run-0000007", "ns-7", "00000000-0000-4000-8000-000000000007"
	want.CreationTimestamp = metav1.NewTime(later)
	want.OwnerReferences[0].Name, want.OwnerReferences[0].UID = "exp-007", "00000000-0000-4000-8000-0000000000bb"
	want.Spec.ExperimentName = "exp-007"
	want.Status.StartTime, want.Status.WorkflowName = &want.CreationTimestamp, "run-0000007"
	got.TypeMeta = metav1.TypeMeta{}
	if !apiequality.Semantic.DeepEqual(got, want) {
		t.Fatalf("rendered\n%+v\nwant\n%+v", got, want)
	}
	if bytes.HasPrefix(data, []byte("{")) {
		t.Fatalf("rendered as JSON, not as the storage codec stores: %.40q", data)
	}

	// A template that does not come out as stored is refused.
	if _, err := newStoredTemplate(stored.Bytes(), tmpl, "00000000-0000-4000-8000-0000000000cc"); err == nil {
		t.Fatal("a template missing its owner's uid was accepted")
	}
}
