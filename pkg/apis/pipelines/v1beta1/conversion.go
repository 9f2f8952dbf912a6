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

package v1beta1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// Field selectors each kind supports beyond metadata.name and metadata.namespace. The
// storage engine keeps them in indexed columns, so filtering on them is an indexed read.
var selectableFields = map[string][]string{
	"Pipeline":        nil,
	"PipelineVersion": {"spec.pipelineName"},
	"Experiment":      {"status.storageState"},
	"Run":             {"spec.experimentName", "spec.pipelineRef.pipelineName", "status.phase", "status.storageState", "status.finished"},
	RecentRunKind:     {"spec.experimentName", "spec.pipelineRef.pipelineName", "status.phase", "status.storageState", "status.finished"},
	"Job":             {"spec.experimentName", "spec.pipelineRef.pipelineName"},
}

func addFieldLabelConversionFuncs(scheme *runtime.Scheme) error {
	for kind, fields := range selectableFields {
		allowed := map[string]bool{"metadata.name": true, "metadata.namespace": true}
		for _, f := range fields {
			allowed[f] = true
		}
		if err := scheme.AddFieldLabelConversionFunc(SchemeGroupVersion.WithKind(kind),
			func(label, value string) (string, string, error) {
				if allowed[label] {
					return label, value, nil
				}
				return "", "", fmt.Errorf("field label not supported for %s: %s", kind, label)
			}); err != nil {
			return err
		}
	}
	return nil
}

// Convert_v1beta1_PipelineVersionSpec_To_pipelines_PipelineVersionSpec refuses, while the
// request is decoded, a definition this server cannot handle as JSON: bytes that are not one
// JSON value (a protobuf body can carry any), and numbers that neither an int64 nor a float64
// holds. Server-side apply's field tracking reads the definition before validation runs, and
// fails the request with a panic on either.
func Convert_v1beta1_PipelineVersionSpec_To_pipelines_PipelineVersionSpec(in *PipelineVersionSpec, out *pipelines.PipelineVersionSpec, s conversion.Scope) error {
	spec := field.NewPath("spec")
	for _, f := range []struct {
		name string
		raw  []byte
	}{{"workflow", in.Workflow.Raw}, {"pipelineSpec", in.PipelineSpec.Raw}, {"platformSpec", in.PlatformSpec.Raw}} {
		if err := checkJSON(f.raw); err != nil {
			return field.Invalid(spec.Child(f.name), field.OmitValueType{}, err.Error())
		}
	}
	return autoConvert_v1beta1_PipelineVersionSpec_To_pipelines_PipelineVersionSpec(in, out, s)
}

// checkJSON says why raw, when not empty, is not one JSON value whose every number is an
// int64 or a float64.
func checkJSON(raw []byte) error {
	if len(raw) == 0 {
		return nil
	}
	if !json.Valid(raw) {
		return errors.New("must be one JSON value")
	}
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '-' || c >= '0' && c <= '9'):
			j := i
			for j < len(raw) && bytes.IndexByte([]byte("+-.0123456789eE"), raw[j]) >= 0 {
				j++
			}
			// Fewer than 19 characters without an exponent always fit.
			if n := raw[i:j]; len(n) >= 19 || bytes.ContainsAny(n, "eE") {
				if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
					if _, err := strconv.ParseFloat(string(n), 64); err != nil {
						return fmt.Errorf("the number %.40s is out of range", n)
					}
				}
			}
			i = j - 1
		}
	}
	return nil
}
