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

package launcher

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

// decodeJSON reads one JSON value keeping numbers as written.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// ParseValue reads a parameter value in the run-parameter encoding (a STRING as
// itself, other types as JSON) as a value of type t. Booleans written by Python
// (True, False) are accepted.
func ParseValue(t pipelinespec.ParameterType, s string) (any, error) {
	switch t {
	case pipelinespec.TypeString, "":
		return s, nil
	case pipelinespec.TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", s)
		}
		return b, nil
	case pipelinespec.TypeInteger:
		s = strings.TrimSpace(s)
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			// 3.0, as JSON numbers from Python may be written.
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != float64(int64(f)) {
				return nil, fmt.Errorf("%q is not an integer", s)
			}
			s = strconv.FormatInt(int64(f), 10)
		}
		return json.Number(s), nil
	case pipelinespec.TypeDouble:
		s = strings.TrimSpace(s)
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return json.Number(s), nil
	case pipelinespec.TypeList, pipelinespec.TypeStruct, pipelinespec.TypeTaskFinalStatus:
		v, err := decodeJSON(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not JSON: %v", s, err)
		}
		switch v.(type) {
		case []any:
			if t == pipelinespec.TypeList {
				return v, nil
			}
		case map[string]any:
			if t != pipelinespec.TypeList {
				return v, nil
			}
		}
		return nil, fmt.Errorf("%q is not a %s", s, t)
	}
	return nil, fmt.Errorf("unknown parameter type %q", t)
}

// Convert makes a JSON value (a default, or one from an executor output) a value of
// type t.
func Convert(t pipelinespec.ParameterType, v any) (any, error) {
	if t == pipelinespec.TypeString {
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return ParseValue(t, Format(v))
}

// Select applies one parameterExpressionSelector to a value in the run-parameter
// encoding and returns the selected value in the same encoding.
func Select(expr, value string) (string, error) {
	steps, err := pipelinespec.ParseSelector(expr)
	if err != nil {
		return "", err
	}
	if steps == nil {
		return value, nil
	}
	v, err := decodeJSON(value)
	if err != nil {
		return "", fmt.Errorf("parameterExpressionSelector %q: value %q is not JSON", expr, value)
	}
	for _, step := range steps {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[step.Key]; !ok || step.Index != "" {
				return "", fmt.Errorf("parameterExpressionSelector %q: no key %q in %s", expr, step.Key+step.Index, value)
			}
		case []any:
			i, err := strconv.Atoi(step.Index)
			if err != nil || i >= len(c) {
				return "", fmt.Errorf("parameterExpressionSelector %q: no index %q in %s", expr, step.Key+step.Index, value)
			}
			v = c[i]
		default:
			return "", fmt.Errorf("parameterExpressionSelector %q: %s is neither an object nor a list", expr, value)
		}
	}
	return Format(v), nil
}

// FinalStatus is the PipelineTaskFinalStatus value an exit task gets, built from
// Argo's phase of the task it follows, as KFP's backend builds it: the state is the
// name of the producer's ML Metadata execution state (COMPLETE, FAILED; UNKNOWN for a
// task that did not run), the job resource name is KFP's Argo workflow name, which KFP
// generates from the pipeline's name, here the pipeline's name then the run's, and the
// error is empty. KFP leaves the error empty also when the task failed; here it then
// holds google.rpc's UNKNOWN code and says how the task ended.
func FinalStatus(phase, pipeline, run, task string) map[string]any {
	state := map[string]string{
		"Succeeded": "COMPLETE",
		"Failed":    "FAILED",
		"Error":     "FAILED",
	}[phase]
	if state == "" {
		state = "UNKNOWN"
	}
	st := map[string]any{
		"state":                   state,
		"pipelineJobResourceName": pipeline + "-" + run,
		"pipelineTaskName":        task,
		"error":                   map[string]any{},
	}
	if state == "FAILED" {
		st["error"] = map[string]any{"code": 2, "message": "task " + task + " ended " + phase}
	}
	return st
}
