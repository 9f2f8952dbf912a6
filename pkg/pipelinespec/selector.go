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
	"fmt"
	"regexp"
	"strings"
)

// SelectorStep is one step of a parameterExpressionSelector: a key of an object, or
// (Key "") the Index of a list item.
type SelectorStep struct {
	Key   string
	Index string
}

var (
	selectorForm = regexp.MustCompile(`^parseJson\(string_value\)((?:\[(?:"[^"]*"|[0-9]+)\])+)$`)
	selectorStep = regexp.MustCompile(`\[(?:"([^"]*)"|([0-9]+))\]`)
)

// ParseSelector reads a parameterExpressionSelector in the forms the SDK writes, a CEL
// expression over the value: parseJson(string_value) indexed by keys or positions
// (steps), or string_value itself (no step).
func ParseSelector(expr string) ([]SelectorStep, error) {
	expr = strings.TrimSpace(expr)
	if expr == "string_value" {
		return nil, nil
	}
	m := selectorForm.FindStringSubmatch(expr)
	if m == nil {
		return nil, fmt.Errorf("parameterExpressionSelector %q: only parseJson(string_value)[...] and string_value are supported", expr)
	}
	var steps []SelectorStep
	for _, s := range selectorStep.FindAllStringSubmatch(m[1], -1) {
		steps = append(steps, SelectorStep{Key: s[1], Index: s[2]})
	}
	return steps, nil
}
