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

package workflow

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FuzzParse: no manifest panics Parse or Validate, which both validation and the run
// executor call.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","spec":{"entrypoint":"e","onExit":"e","arguments":{"parameters":[{"name":"a","value":"1"},{"name":"a"}]},
		  "templates":[{"name":"e","dag":{"tasks":[{"name":"t","template":"f","onExit":"e"}]}},{"name":"f","steps":[[{"name":"s","template":"e"}],[]]},{"name":""}]}}`,
		`{"spec":{"templates":[{"dag":null,"steps":[null,[null]]}]}}`, `{"spec":{"arguments":{"parameters":[null,1]}}}`,
		`{"spec":{"Templates":[]}}`, `{"spec":{"templates":{}}}`, `{"apiVersion":1}`, `[]`, `null`, `  {}`, "\x00{}", "{\"spec\":{\"entrypoint\":\"\\u0000\"}}",
		`{"spec":{"arguments":{"parameters":[{"name":"a","value":99999999999999999999999}]}}}`,
		`{"spec":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5001),
		`{"spec":{"templates":[` + strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000) + `]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := field.NewPath("spec", "workflow")
		w, errs := Parse(raw, p)
		if len(errs) > 0 {
			return
		}
		_ = w.Validate(p)
	})
}
