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
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	clientscheme "github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned/scheme"
)

// BenchmarkRunPageOnTheWire encodes a page of 100 runs as this server answers a list, and
// decodes it as the generated clientset does, in JSON (kubectl, the UI) and in protobuf (the
// clientset's default).
func BenchmarkRunPageOnTheWire(b *testing.B) {
	stored, _ := storedRun(b, runtime.ContentTypeProtobuf)
	run := &v1beta1.Run{}
	if err := Scheme.Convert(stored, run, nil); err != nil {
		b.Fatal(err)
	}
	page := &v1beta1.RunList{}
	for i := range 100 {
		r := run.DeepCopy()
		r.Name = fmt.Sprintf("run-%03d", i)
		page.Items = append(page.Items, *r)
	}
	for _, mediaType := range []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf} {
		info, ok := runtime.SerializerInfoForMediaType(Codecs.SupportedMediaTypes(), mediaType)
		if !ok {
			b.Fatalf("no serializer for %s", mediaType)
		}
		enc := Codecs.EncoderForVersion(info.Serializer, v1beta1.SchemeGroupVersion)
		var buf bytes.Buffer
		if err := enc.Encode(page, &buf); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.Run("encode/"+mediaType, func(b *testing.B) {
			b.ReportAllocs()
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if err := enc.Encode(page, &out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data)), "bytes/page")
		})
		cinfo, _ := runtime.SerializerInfoForMediaType(clientscheme.Codecs.SupportedMediaTypes(), mediaType)
		dec := clientscheme.Codecs.DecoderToVersion(cinfo.Serializer, v1beta1.SchemeGroupVersion)
		b.Run("decode/"+mediaType, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := dec.Decode(data, nil, &v1beta1.RunList{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
