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

package shareddata

import (
	"encoding/json"
	"sort"
)

// The compiled KFP 2.x pipelines (kfp-v2), read generically, without this
// repository's types, so that tests compare the server against the file itself.

// IRInput is one input of a pipeline's root.inputDefinitions as the file says it.
type IRInput struct {
	Name, Type string
	// Default is the default in the run-parameter encoding (a string as itself,
	// anything else as JSON), or nil.
	Default  *string
	Optional bool
}

// ContainerTasks counts the tasks of comp's DAG, and of the DAGs it runs, whose
// executor is a container, in ir, a pipeline IR document decoded generically: each
// is one pod.
func ContainerTasks(ir, comp map[string]any) int {
	components, _ := ir["components"].(map[string]any)
	deployment, _ := ir["deploymentSpec"].(map[string]any)
	executors, _ := deployment["executors"].(map[string]any)
	dag, _ := comp["dag"].(map[string]any)
	tasks, _ := dag["tasks"].(map[string]any)
	n := 0
	for _, task := range tasks {
		ref, _ := task.(map[string]any)["componentRef"].(map[string]any)
		name, _ := ref["name"].(string)
		c, _ := components[name].(map[string]any)
		if _, ok := c["dag"]; ok {
			n += ContainerTasks(ir, c)
			continue
		}
		label, _ := c["executorLabel"].(string)
		if e, _ := executors[label].(map[string]any); e["container"] != nil {
			n++
		}
	}
	return n
}

// RequiredValue is a run parameter value of the IR type t (or ARTIFACT), for tests
// that must give every required input.
func RequiredValue(t string) string {
	switch t {
	case "NUMBER_INTEGER":
		return "1"
	case "NUMBER_DOUBLE":
		return "0.5"
	case "BOOLEAN":
		return "true"
	case "LIST":
		return `["a","b"]`
	case "STRUCT":
		return `{"a":1}`
	case "ARTIFACT":
		return "s3://inputs/data"
	}
	return "value"
}

// IRInputs lists root.inputDefinitions of ir, a pipeline IR document decoded
// generically: parameters then artifacts (type ARTIFACT), each sorted by name.
func IRInputs(ir map[string]any) []IRInput {
	root, _ := ir["root"].(map[string]any)
	defs, _ := root["inputDefinitions"].(map[string]any)
	params, _ := defs["parameters"].(map[string]any)
	var in []IRInput
	for _, name := range sortedKeys(params) {
		p, _ := params[name].(map[string]any)
		i := IRInput{Name: name}
		i.Type, _ = p["parameterType"].(string)
		if d, ok := p["defaultValue"]; ok && d != nil {
			s, isString := d.(string)
			if !isString {
				b, _ := json.Marshal(d)
				s = string(b)
			}
			i.Default = &s
		}
		i.Optional = p["isOptional"] == true || i.Default != nil
		in = append(in, i)
	}
	arts, _ := defs["artifacts"].(map[string]any)
	for _, name := range sortedKeys(arts) {
		a, _ := arts[name].(map[string]any)
		in = append(in, IRInput{Name: name, Type: "ARTIFACT", Optional: a["isOptional"] == true})
	}
	return in
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
