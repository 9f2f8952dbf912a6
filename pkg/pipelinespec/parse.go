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

package pipelinespec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// Parse reads a pipeline's IR (JSON). Shape errors are reported on fldPath.
// Keys are matched case-sensitively; keys this package does not know are ignored,
// so that fields a newer SDK adds do not stop an upload.
func Parse(raw []byte, fldPath *field.Path) (*PipelineSpec, field.ErrorList) {
	var s PipelineSpec
	if errs := decode(raw, &s, fldPath, "a pipeline IR (PipelineSpec)"); len(errs) > 0 {
		return nil, errs
	}
	return &s, nil
}

// ParsePlatform reads a pipeline's platform spec (JSON); raw may be empty (none).
func ParsePlatform(raw []byte, fldPath *field.Path) (*PlatformSpec, field.ErrorList) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var p PlatformSpec
	if errs := decode(raw, &p, fldPath, "a Kubernetes platform spec"); len(errs) > 0 {
		return nil, errs
	}
	return &p, nil
}

func decode(raw []byte, into any, fldPath *field.Path, what string) field.ErrorList {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return field.ErrorList{field.Required(fldPath, what)}
	}
	if trimmed[0] != '{' {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must be a JSON object: "+what)}
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(trimmed, into); err != nil {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, fmt.Sprintf("not %s: %v", what, err))}
	}
	return nil
}

// Kubernetes returns the platform spec's settings for executor, or nil.
func (p *PlatformSpec) Kubernetes(executor string) *KubernetesExecutorConfig {
	if p == nil || p.Platforms["kubernetes"] == nil {
		return nil
	}
	return p.Platforms["kubernetes"].DeploymentSpec.Executors[executor]
}

// Input is one input a pipeline declares in root.inputDefinitions.
type Input struct {
	Name string
	// Type is the parameter's type (STRING, NUMBER_INTEGER, ...), or TypeArtifact.
	Type ParameterType
	// Default is the default in the run-parameter encoding (see ParseValue); nil
	// when there is none.
	Default *string
	// Optional says a run may leave the input out: it has a default or is declared
	// optional.
	Optional bool
}

// TypeArtifact is the type of a pipeline input that is an artifact; a run gives it
// as the artifact's URI.
const TypeArtifact ParameterType = "ARTIFACT"

// Inputs lists the pipeline's inputs, parameters then artifacts, each sorted by name.
func (s *PipelineSpec) Inputs() []Input {
	if s.Root == nil || s.Root.InputDefinitions == nil {
		return nil
	}
	defs := s.Root.InputDefinitions
	var in []Input
	for _, name := range sortedKeys(defs.Parameters) {
		p := defs.Parameters[name]
		i := Input{Name: name, Type: p.ParameterType, Optional: p.IsOptional || p.DefaultValue != nil}
		if p.DefaultValue != nil {
			d := FormatValue(p.DefaultValue)
			i.Default = &d
		}
		in = append(in, i)
	}
	for _, name := range sortedKeys(defs.Artifacts) {
		in = append(in, Input{Name: name, Type: TypeArtifact, Optional: defs.Artifacts[name].IsOptional})
	}
	return in
}

// FormatValue encodes a parameter value (a JSON value) as a run parameter: a
// string as itself, anything else as JSON.
func FormatValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil { // not from JSON; cannot happen for parsed values
		return fmt.Sprint(v)
	}
	return string(b)
}

// ParseValue decodes a run parameter's value for an input of type t: STRING takes
// the string as it is; NUMBER_INTEGER a decimal integer; NUMBER_DOUBLE a decimal
// number; BOOLEAN true or false; LIST a JSON array; STRUCT a JSON object; an
// ARTIFACT input its URI. The result is the JSON value the pipeline sees.
func ParseValue(t ParameterType, s string) (any, error) {
	switch t {
	case TypeString:
		return s, nil
	case TypeArtifact:
		if s == "" {
			return nil, fmt.Errorf("must be the artifact's URI")
		}
		return s, nil
	case TypeInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("must be an integer")
		}
		return n, nil
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("must be a finite number")
		}
		return f, nil
	case TypeBoolean:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("must be true or false")
	case TypeList, TypeStruct:
		var v any
		if err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("must be JSON: %v", err)
		}
		return v, CheckValue(t, v)
	}
	return nil, fmt.Errorf("inputs of type %s cannot be given by a run", t)
}

// CheckValue reports whether v, a JSON value, is of type t. Numbers are protobuf
// Values, doubles: an integer may be written 1.0.
func CheckValue(t ParameterType, v any) error {
	ok := false
	switch t {
	case TypeString:
		_, ok = v.(string)
	case TypeInteger:
		switch n := v.(type) {
		case int64:
			ok = true
		case float64:
			ok = n == math.Trunc(n) && math.Abs(n) < 1<<63
		}
	case TypeDouble:
		switch v.(type) {
		case int64, float64:
			ok = true
		}
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeList:
		_, ok = v.([]any)
	case TypeStruct:
		_, ok = v.(map[string]any)
	default:
		return fmt.Errorf("an input of type %s takes no value", t)
	}
	if !ok {
		return fmt.Errorf("must be of type %s", t)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Int64 is a protobuf int64, which protobuf's JSON form writes as a string ("1")
// and parsers also accept as a number.
type Int64 int64

// UnmarshalJSON reads a number or a string holding one.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an int64: %s", b)
	}
	*n = Int64(v)
	return nil
}
