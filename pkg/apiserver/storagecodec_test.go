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
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	serverstorage "k8s.io/apiserver/pkg/server/storage"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

var runsResource = schema.GroupResource{Group: pipelines.GroupName, Resource: "runs"}

// codecWriting is the storage codec of a version that stored objects as mediaType, with
// k8s.io/apiserver's default decoders.
func codecWriting(t testing.TB, mediaType string) runtime.Codec {
	t.Helper()
	codec, _, err := serverstorage.NewStorageCodec(serverstorage.StorageCodecConfig{
		StorageMediaType: mediaType, StorageSerializer: Codecs, StorageVersion: v1beta1.SchemeGroupVersion,
		MemoryVersion: schema.GroupVersion{Group: pipelines.GroupName, Version: runtime.APIVersionInternal},
	})
	if err != nil {
		t.Fatal(err)
	}
	return codec
}

// storedRun is a run and its stored bytes, as a codec writing mediaType stores it.
func storedRun(t testing.TB, mediaType string) (*pipelines.Run, []byte) {
	t.Helper()
	// Stored times have whole seconds.
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	in := &v1beta1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "team-a", UID: "00000000-0000-4000-8000-000000000001",
			CreationTimestamp: now, Labels: map[string]string{"a": "b"}},
		Spec: v1beta1.RunSpec{ExperimentName: "e", PipelineRef: v1beta1.PipelineRef{PipelineName: "p", VersionName: "v"},
			Parameters: []v1beta1.RunParameter{{Name: "x", Value: `{"kind":"not this"}`}}},
		// A finished run with two conditions: 0.9 kB stored as JSON (make bench stores runs
		// of 1.5 kB as JSON).
		Status: v1beta1.RunStatus{Phase: v1beta1.RunPhaseSucceeded, StartTime: &now, CompletionTime: &now,
			PipelineVersion: "v", PipelineVersionUID: "00000000-0000-4000-8000-000000000002", WorkflowName: "r-abcde",
			Message: "the run succeeded", Conditions: []metav1.Condition{
				{Type: "Synced", Status: metav1.ConditionTrue, Reason: "WorkflowCreated", Message: "workflow r-abcde created", LastTransitionTime: now},
				{Type: "Succeeded", Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "all 3 steps succeeded", LastTransitionTime: now},
			}},
	}
	internal := &pipelines.Run{}
	if err := Scheme.Convert(in, internal, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := codecWriting(t, mediaType).Encode(internal, &buf); err != nil {
		t.Fatal(err)
	}
	return internal, buf.Bytes()
}

// The JSON encoder writes kind and apiVersion first, so the fast path is what objects
// stored as JSON take, and it finds what the full parse finds.
func TestLeadingTypeMetaReadsStoredObjects(t *testing.T) {
	_, data := storedRun(t, runtime.ContentTypeJSON)
	got, ok := leadingGVK(data)
	if !ok {
		t.Fatalf("the stored object did not take the fast path: %.80s", data)
	}
	want, err := jsonserializer.DefaultMetaFactory.Interpret(data)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want || got.Kind != "Run" || got.GroupVersion() != v1beta1.SchemeGroupVersion {
		t.Fatalf("leading type meta %v, full parse %v", got, want)
	}
}

// Documents that do not start with kind and apiVersion get the full parse, and errors stay errors.
func TestLeadingTypeMetaFallsBack(t *testing.T) {
	for _, doc := range []string{
		`{"metadata":{"name":"x"},"kind":"Run","apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"kind":"Run","metadata":{},"apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"kind":1,"apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"kind":"Run","apiVersion":"a/b/c"}`,
		`{"kind":"Run","apiVersion":"pipelines.kubeflow.org/v1beta1"x}`,
		`{"kind":"R\u0075n","apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{ "kind":"Run","apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"kind":"","apiVersion":"pipelines.kubeflow.org/v1beta1"}`,
		`{"kind":"Run","apiVersion":"pipelines.kubeflow.org/v1beta1`,
		`[1]`, `"x"`, ``, `{`,
	} {
		if gvk, ok := leadingGVK([]byte(doc)); ok {
			t.Errorf("%s: fast path taken (%v)", doc, gvk)
		}
		got, gotErr := leadingTypeMeta{}.Interpret([]byte(doc))
		want, wantErr := jsonserializer.DefaultMetaFactory.Interpret([]byte(doc))
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && *got != *want) {
			t.Errorf("%s: got %v, %v; the default factory gives %v, %v", doc, got, gotErr, want, wantErr)
		}
	}
}

// Objects are stored as protobuf; an object decodes to what was stored, whether stored
// so or as JSON (by versions before).
func TestStorageCodecRoundTrip(t *testing.T) {
	codec, err := StorageCodec(runsResource)
	if err != nil {
		t.Fatal(err)
	}
	want, data := storedRun(t, runtime.ContentTypeProtobuf)
	var buf bytes.Buffer
	if err := codec.Encode(want, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("the storage codec wrote %q, want protobuf: %q", buf.Bytes(), data)
	}
	for _, mediaType := range []string{runtime.ContentTypeProtobuf, runtime.ContentTypeJSON} {
		want, data := storedRun(t, mediaType)
		got := &pipelines.Run{}
		if _, _, err := codec.Decode(data, nil, got); err != nil {
			t.Fatalf("%s: %v", mediaType, err)
		}
		if !apiequality.Semantic.DeepEqual(got, want) {
			t.Fatalf("%s: decoded %+v, stored %+v", mediaType, got, want)
		}
	}
}

// BenchmarkDecodeStoredRun decodes one stored run with the storage codec, stored as
// protobuf and, as versions before stored it, as JSON; and stored as JSON with the codec
// k8s.io/apiserver builds by default (its JSON serializer parses the object twice).
// "copy" deep-copies the decoded run, what a read of a version the storage keeps decoded
// costs instead (pkg/storage/mysql, decoded.go). "encode" is a write's encoding.
func BenchmarkDecodeStoredRun(b *testing.B) {
	codec, err := StorageCodec(runsResource)
	if err != nil {
		b.Fatal(err)
	}
	run, asProtobuf := storedRun(b, runtime.ContentTypeProtobuf)
	_, asJSON := storedRun(b, runtime.ContentTypeJSON)
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = run.DeepCopy()
		}
	})
	for _, c := range []struct {
		name  string
		codec runtime.Codec
		data  []byte
	}{
		{"stored=protobuf/codec=storage", codec, asProtobuf},
		{"stored=json/codec=storage", codec, asJSON},
		{"stored=json/codec=default", codecWriting(b, runtime.ContentTypeJSON), asJSON},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.codec.Decode(c.data, nil, &pipelines.Run{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.data)), "stored-bytes")
		})
	}
	for _, c := range []struct {
		name  string
		codec runtime.Codec
	}{{"encode/protobuf", codec}, {"encode/json", codecWriting(b, runtime.ContentTypeJSON)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.codec.Encode(run, &bytes.Buffer{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
