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

// Package fuzzer fills pipelines.kubeflow.org objects with random values for the
// round-trip test (k8s.io/apimachinery/pkg/api/apitesting/roundtrip).
package fuzzer

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// Funcs returns the fill functions for the pipelines API group. Objects they make
// survive encoding and decoding unchanged: what the v1beta1 defaulter would set on
// decode is already set, a pipeline version's workflow is a JSON object (compact,
// keys sorted, as the JSON encoder writes it) or absent, and enumerations hold one
// of their values.
func Funcs(_ runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		// The only RawExtension in the group is a pipeline version's workflow.
		func(r *runtime.RawExtension, c randfill.Continue) {
			*r = argoWorkflow(c)
		},
		func(s *pipelines.ExperimentStatus, c randfill.Continue) {
			c.FillNoCustom(s)
			s.StorageState = storageState(c)
		},
		func(s *pipelines.RunStatus, c randfill.Continue) {
			c.FillNoCustom(s)
			s.StorageState = storageState(c)
			s.Phase = oneOf(c, "", pipelines.RunPhasePending, pipelines.RunPhaseRunning, pipelines.RunPhaseSucceeded,
				pipelines.RunPhaseFailed, pipelines.RunPhaseError, pipelines.RunPhaseSkipped,
				pipelines.RunPhaseCanceling, pipelines.RunPhaseCanceled)
		},
		func(s *pipelines.JobSpec, c randfill.Continue) {
			c.FillNoCustom(s)
			// Set as SetDefaults_JobSpec would, or the decoded object differs.
			enabled := c.Bool()
			s.Enabled = &enabled
			s.MaxConcurrency = 1 + c.Int31n(10)
		},
		func(s *pipelines.Schedule, c randfill.Continue) {
			c.FillNoCustom(s)
			// Exactly one of cron and intervalSeconds.
			if c.Bool() {
				s.Cron = oneOf(c, "0 0 * * * *", "*/5 * * * *", "0 30 2 * * 1-5")
				s.IntervalSeconds = 0
			} else {
				s.Cron = ""
				s.IntervalSeconds = 1 + c.Int63n(7*24*3600)
			}
		},
	}
}

func storageState(c randfill.Continue) pipelines.StorageState {
	return oneOf(c, "", pipelines.StorageStateAvailable, pipelines.StorageStateArchived)
}

func oneOf[T any](c randfill.Continue, values ...T) T {
	return values[c.Intn(len(values))]
}

// argoWorkflow makes a small Argo workflow that passes workflow.Validate: a DAG or
// steps entrypoint running container templates, and uniquely named parameters,
// some with defaults. One in five is absent.
func argoWorkflow(c randfill.Continue) runtime.RawExtension {
	if c.Intn(5) == 0 {
		return runtime.RawExtension{}
	}
	names := make([]string, 1+c.Intn(4))
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", name(c), i)
	}
	var calls []interface{}
	templates := []interface{}{nil}
	for i, n := range names[1:] {
		calls = append(calls, map[string]interface{}{"name": fmt.Sprintf("call-%d", i), "template": n})
		templates = append(templates, map[string]interface{}{
			"name":      n,
			"container": map[string]interface{}{"image": "alpine:3", "command": []string{"echo", c.String(20)}},
		})
	}
	entry := map[string]interface{}{"name": names[0]}
	switch {
	case len(calls) == 0:
		entry["container"] = map[string]interface{}{"image": "alpine:3"}
	case c.Bool():
		entry["dag"] = map[string]interface{}{"tasks": calls}
	default:
		steps := make([]interface{}, len(calls))
		for i, call := range calls {
			steps[i] = []interface{}{call}
		}
		entry["steps"] = steps
	}
	templates[0] = entry

	params := make([]interface{}, c.Intn(4))
	for i := range params {
		p := map[string]interface{}{"name": fmt.Sprintf("%s-%d", name(c), i)}
		if c.Bool() {
			p["value"] = c.String(30)
		}
		params[i] = p
	}
	raw, err := json.Marshal(map[string]interface{}{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Workflow",
		"metadata":   map[string]interface{}{"generateName": names[0] + "-"},
		"spec": map[string]interface{}{
			"entrypoint": names[0],
			"arguments":  map[string]interface{}{"parameters": params},
			"templates":  templates,
		},
	})
	if err != nil {
		// Maps of strings and slices always marshal; were it to fail, no workflow.
		return runtime.RawExtension{}
	}
	return runtime.RawExtension{Raw: raw}
}

// name makes a DNS label of 1 to 20 characters.
func name(c randfill.Continue) string {
	const (
		alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
		inner = alnum + "-"
	)
	b := make([]byte, 1+c.Intn(20))
	for i := range b {
		set := inner
		if i == 0 || i == len(b)-1 {
			set = alnum
		}
		b[i] = set[c.Intn(len(set))]
	}
	return string(b)
}
