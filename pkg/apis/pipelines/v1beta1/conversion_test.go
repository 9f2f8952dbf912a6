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
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/install"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// TestDefinitionsDecodeOnlyAsJSON: a version's definition reaches the rest of the server only
// as JSON whose numbers fit an int64 or a float64, whichever field holds it.
func TestDefinitionsDecodeOnlyAsJSON(t *testing.T) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	for _, tc := range []struct {
		raw   string
		field string // what the error says; empty: accepted
	}{
		{raw: ``},
		{raw: `{"a": [1, -2.5, 1e300, -1e-300, 123456789012345678901234567890, "1e400", "\"1e400"]}`},
		{raw: ` {"a": 1} `},
		{raw: `"x"`},
		{raw: `  `, field: "must be one JSON value"},
		{raw: `kind: Workflow`, field: "must be one JSON value"},
		{raw: `{"a": 1} {"b": 2}`, field: "must be one JSON value"},
		{raw: `{"a": 1e400}`, field: "1e400 is out of range"},
		{raw: `{"a": [-1E+400]}`, field: "-1E+400 is out of range"},
		{raw: `{"a\"": "b", "c": ` + strings.Repeat("9", 400) + `}`, field: "out of range"},
	} {
		for path, set := range map[string]func(*v1beta1.PipelineVersionSpec, []byte){
			"spec.workflow":     func(s *v1beta1.PipelineVersionSpec, b []byte) { s.Workflow.Raw = b },
			"spec.pipelineSpec": func(s *v1beta1.PipelineVersionSpec, b []byte) { s.PipelineSpec.Raw = b },
			"spec.platformSpec": func(s *v1beta1.PipelineVersionSpec, b []byte) { s.PlatformSpec.Raw = b },
		} {
			in := &v1beta1.PipelineVersion{}
			set(&in.Spec, []byte(tc.raw))
			err := scheme.Convert(in, &pipelines.PipelineVersion{}, nil)
			switch {
			case tc.field == "" && err != nil:
				t.Errorf("%q: %v, want it accepted", tc.raw, err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), path+": Invalid value") || !strings.Contains(err.Error(), tc.field)):
				t.Errorf("%q in %s: %v, want an error saying %q", tc.raw, path, err, tc.field)
			}
		}
	}
}
