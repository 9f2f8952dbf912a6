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

package apiserver

import (
	"bytes"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// FuzzDecodeProtobuf decodes bytes as a protobuf request body is decoded (into v1beta1, then
// the internal version). Nothing may panic, and whatever decodes must be something the
// rest of a request can handle: server-side apply's field tracking walks it by reflection
// (it panicked on a definition that was not JSON), and the storage encodes it as JSON.
func FuzzDecodeProtobuf(f *testing.F) {
	info, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		f.Fatal("no protobuf serializer")
	}
	internal := schema.GroupVersion{Group: pipelines.GroupName, Version: runtime.APIVersionInternal}
	decoder := Codecs.DecoderToVersion(info.Serializer, internal)
	encoder := Codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
	jsonInfo, _ := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	toJSON := Codecs.EncoderForVersion(jsonInfo.Serializer, v1beta1.SchemeGroupVersion)

	meta := metav1.ObjectMeta{Name: "x", Namespace: "ns", Labels: map[string]string{"a": "b"}}
	for _, obj := range []runtime.Object{
		&v1beta1.Experiment{ObjectMeta: meta, Spec: v1beta1.ExperimentSpec{DisplayName: "d"}},
		&v1beta1.Pipeline{ObjectMeta: meta},
		&v1beta1.PipelineVersion{ObjectMeta: meta, Spec: v1beta1.PipelineVersionSpec{PipelineName: "p",
			Workflow: runtime.RawExtension{Raw: []byte(`{"kind":"Workflow","spec":{"parallelism":1e300}}`)}}},
		&v1beta1.PipelineVersion{ObjectMeta: meta, Spec: v1beta1.PipelineVersionSpec{PipelineName: "p",
			Workflow: runtime.RawExtension{Raw: []byte(`{"kind":"Workflow","spec":{"parallelism":1e400}}`)}}},
		&v1beta1.PipelineVersion{ObjectMeta: meta, Spec: v1beta1.PipelineVersionSpec{PipelineName: "p",
			PipelineSpec: runtime.RawExtension{Raw: []byte(`{}`)}, PlatformSpec: runtime.RawExtension{Raw: []byte(" ")}}},
		&v1beta1.Run{ObjectMeta: meta, Spec: v1beta1.RunSpec{ExperimentName: "e", PipelineRef: v1beta1.PipelineRef{PipelineName: "p"},
			Parameters: []v1beta1.RunParameter{{Name: "a", Value: "v"}}}},
		&v1beta1.Job{ObjectMeta: meta, Spec: v1beta1.JobSpec{ExperimentName: "e", Schedule: v1beta1.Schedule{Cron: "0 * * * * *"}},
			Status: v1beta1.JobStatus{Author: &v1beta1.Author{Username: "u", Extra: map[string]v1beta1.ExtraValue{"k": {"v"}}}}},
	} {
		var buf bytes.Buffer
		if err := encoder.Encode(obj, &buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, _, err := decoder.Decode(data, nil, nil)
		if err != nil {
			return
		}
		external, err := Scheme.ConvertToVersion(obj, v1beta1.SchemeGroupVersion)
		if err != nil {
			t.Fatalf("decoded, but does not convert back: %v", err)
		}
		v, err := value.NewValueReflect(external)
		if err != nil {
			t.Fatalf("decoded, but not walkable by reflection: %v", err)
		}
		if _, err := value.ToJSON(v); err != nil {
			t.Fatalf("decoded, but its reflected value has no JSON: %v", err)
		}
		if err := toJSON.Encode(obj, &bytes.Buffer{}); err != nil {
			t.Fatalf("decoded, but does not encode as JSON: %v", err)
		}
	})
}
