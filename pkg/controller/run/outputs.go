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

package run

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
)

// Bounds of a step's outputs in a run's status, so that a run of 200 steps stays small
// enough to store: whoever writes a workflow's status writes these.
const (
	MaxStepOutputs     = 32
	MaxStepOutputValue = 512
	metricsSchema      = "system.Metrics"
)

// taskOutputs fills in a KFP 2.x task's cache state and outputs from its node: the
// launcher's output parameters as they are, its artifact lists (launcherspec.ArtifactList)
// as URI, type and, for metrics, their values. Nodes of other templates are left alone.
func taskOutputs(step *v1beta1.StepStatus, n node, t templateInfo) {
	switch t.enableCache {
	case "true":
		step.Cache = v1beta1.StepCacheNotCached
	case "false":
		step.Cache = v1beta1.StepCacheDisabled
	default:
		return
	}
	if n.Outputs == nil {
		return
	}
	for _, p := range n.Outputs.Parameters {
		if p.Value == nil {
			continue
		}
		if !t.artifacts.Has(p.Name) {
			if len(step.OutputParameters) < MaxStepOutputs {
				step.OutputParameters = append(step.OutputParameters, v1beta1.StepOutputParameter{Name: p.Name, Value: cut(*p.Value, MaxStepOutputValue)})
			}
			continue
		}
		var list launcherspec.ArtifactList
		if err := json.Unmarshal([]byte(*p.Value), &list); err != nil {
			continue
		}
		for _, a := range list.Artifacts {
			if len(step.OutputArtifacts) >= MaxStepOutputs {
				break
			}
			out := v1beta1.StepOutputArtifact{Name: p.Name, URI: cut(a.URI, MaxStepOutputValue), Type: cut(a.Type.SchemaTitle, MaxStepOutputValue)}
			if a.Type.SchemaTitle == metricsSchema {
				out.Metrics = metricValues(a.Metadata)
			}
			step.OutputArtifacts = append(step.OutputArtifacts, out)
		}
	}
	sort.Slice(step.OutputParameters, func(i, j int) bool { return step.OutputParameters[i].Name < step.OutputParameters[j].Name })
}

// metricValues are a system.Metrics artifact's scalar values (its metadata), by name.
func metricValues(md map[string]any) []v1beta1.StepMetric {
	var out []v1beta1.StepMetric
	for name, v := range md {
		if _, ok := v.(float64); !ok {
			continue // display_name and other non-metrics
		}
		b, _ := json.Marshal(v)
		out = append(out, v1beta1.StepMetric{Name: cut(name, MaxStepOutputValue), Value: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > MaxStepOutputs {
		out = out[:MaxStepOutputs]
	}
	return out
}

// podName is the name Argo's controller (v3.4 and later, pod names "v2") gives a node's
// pod: the workflow's and template's names, cut to 242 bytes, and a hash of the node's name.
func podName(workflow string, n node) string {
	if workflow == n.Name {
		return workflow
	}
	prefix := workflow
	if n.TemplateName != "" {
		prefix += "-" + n.TemplateName
	}
	if len(prefix) > 242 {
		prefix = prefix[:242]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(n.Name))
	return fmt.Sprintf("%s-%d", prefix, h.Sum32())
}
