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

package pipelineversion

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

func TestCheckParameters(t *testing.T) {
	s := func(v string) *string { return &v }
	v := &pipelines.PipelineVersion{Status: pipelines.PipelineVersionStatus{Parameters: []pipelines.Parameter{
		{Name: "text", Type: "STRING"},
		{Name: "n", Type: "NUMBER_INTEGER", Default: s("1"), Optional: true},
		{Name: "rate", Type: "NUMBER_DOUBLE", Optional: true},
		{Name: "flag", Type: "BOOLEAN", Optional: true},
		{Name: "items", Type: "LIST", Optional: true},
		{Name: "config", Type: "STRUCT", Optional: true},
		{Name: "data", Type: "ARTIFACT", Optional: true},
	}}}
	tests := []struct {
		name   string
		params []pipelines.RunParameter
		want   string // "" for none; else a substring of the aggregate error
	}{
		{"required only", []pipelines.RunParameter{{Name: "text", Value: ""}}, ""},
		{"all, well typed", []pipelines.RunParameter{{Name: "text", Value: "x"}, {Name: "n", Value: "-3"}, {Name: "rate", Value: "0.5"},
			{Name: "flag", Value: "false"}, {Name: "items", Value: `[1,"a"]`}, {Name: "config", Value: `{"a":[1]}`}, {Name: "data", Value: "s3://b/k"}}, ""},
		{"required missing", nil, `pipeline parameter "text" has no default`},
		{"integer", []pipelines.RunParameter{{Name: "text"}, {Name: "n", Value: "1.5"}}, `spec.parameters[1].value: Invalid value: "1.5": pipeline input "n" is of type NUMBER_INTEGER`},
		{"double", []pipelines.RunParameter{{Name: "text"}, {Name: "rate", Value: "fast"}}, "spec.parameters[1].value"},
		{"boolean", []pipelines.RunParameter{{Name: "text"}, {Name: "flag", Value: "yes"}}, "true or false"},
		{"list", []pipelines.RunParameter{{Name: "text"}, {Name: "items", Value: `{"a":1}`}}, "must be of type LIST"},
		{"struct", []pipelines.RunParameter{{Name: "text"}, {Name: "config", Value: `[1]`}}, "must be of type STRUCT"},
		{"undeclared", []pipelines.RunParameter{{Name: "text"}, {Name: "other"}}, "spec.parameters[1].name: Unsupported value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckParameters(v, tc.params, field.NewPath("spec", "parameters"))
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("refused: %v", errs.ToAggregate())
			case tc.want != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tc.want)):
				t.Errorf("errors %v, want one containing %q", errs.ToAggregate(), tc.want)
			}
		})
	}
	// A KFP v1 workflow's parameters stay untyped strings, required without a default.
	v1 := &pipelines.PipelineVersion{Status: pipelines.PipelineVersionStatus{Parameters: []pipelines.Parameter{{Name: "a"}, {Name: "b", Default: s("x"), Optional: true}}}}
	if errs := CheckParameters(v1, []pipelines.RunParameter{{Name: "a", Value: "anything"}}, field.NewPath("spec", "parameters")); len(errs) > 0 {
		t.Errorf("v1: %v", errs.ToAggregate())
	}
	if errs := CheckParameters(v1, nil, field.NewPath("spec", "parameters")); len(errs) != 1 {
		t.Errorf("v1 without a: %v", errs.ToAggregate())
	}
}
