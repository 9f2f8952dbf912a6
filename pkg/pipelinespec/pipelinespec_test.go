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
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// validFiles lists every compiled pipeline under the shared kfp-v2/valid.
func validFiles(t *testing.T) []string {
	return shareddata.Files(t, "kfp-v2", "valid", ".yaml", ".yml", ".json")
}

func load(t *testing.T, file string) (*PipelineSpec, *PlatformSpec, [][]byte) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Documents(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 1 || len(docs) > 2 {
		t.Fatalf("%d documents", len(docs))
	}
	spec, errs := Parse(docs[0], field.NewPath("pipelineSpec"))
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	var platform *PlatformSpec
	if len(docs) == 2 {
		if platform, errs = ParsePlatform(docs[1], field.NewPath("platformSpec")); len(errs) > 0 {
			t.Fatal(errs.ToAggregate())
		}
		if platform.Platforms["kubernetes"] == nil {
			t.Fatalf("second document has no platforms.kubernetes: %s", docs[1])
		}
	}
	return spec, platform, docs
}

// TestValidFiles parses and validates every compiled pipeline of the test data and
// compares its inputs with root.inputDefinitions read generically from the file.
func TestValidFiles(t *testing.T) {
	for _, file := range validFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), func(t *testing.T) {
			spec, platform, docs := load(t, file)
			if errs := spec.Validate(platform, field.NewPath("pipelineSpec"), field.NewPath("platformSpec")); len(errs) > 0 {
				t.Fatal(errs.ToAggregate())
			}
			var generic map[string]any
			if err := yaml.Unmarshal(docs[0], &generic); err != nil {
				t.Fatal(err)
			}
			want := []Input{}
			root, _ := generic["root"].(map[string]any)
			defs, _ := root["inputDefinitions"].(map[string]any)
			params, _ := defs["parameters"].(map[string]any)
			for _, name := range sortedKeys(params) {
				p := params[name].(map[string]any)
				in := Input{Name: name, Type: ParameterType(p["parameterType"].(string))}
				if d, ok := p["defaultValue"]; ok {
					s, isString := d.(string)
					if !isString {
						b, _ := json.Marshal(d)
						s = string(b)
					}
					in.Default = &s
				}
				in.Optional = p["isOptional"] == true || in.Default != nil
				want = append(want, in)
			}
			arts, _ := defs["artifacts"].(map[string]any)
			for _, name := range sortedKeys(arts) {
				want = append(want, Input{Name: name, Type: TypeArtifact, Optional: arts[name].(map[string]any)["isOptional"] == true})
			}
			got := append([]Input{}, spec.Inputs()...)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inputs:\n got %s\nwant %s", show(got), show(want))
			}
		})
	}
}

func show(in []Input) string {
	var b strings.Builder
	for _, i := range in {
		d := "<none>"
		if i.Default != nil {
			d = *i.Default
		}
		b.WriteString(string(i.Type) + " " + i.Name + "=" + d + "; ")
	}
	return b.String()
}

// TestRefused breaks a real pipeline in each way validation must catch and checks
// the error names the field.
func TestRefused(t *testing.T) {
	const base = `{
  "pipelineInfo": {"name": "p"},
  "schemaVersion": "2.1.0",
  "deploymentSpec": {"executors": {"exec-a": {"container": {"image": "python:3.12", "command": ["echo"]}}}},
  "components": {
    "comp-a": {"executorLabel": "exec-a",
      "inputDefinitions": {"parameters": {"x": {"parameterType": "STRING"}}},
      "outputDefinitions": {"parameters": {"Output": {"parameterType": "STRING"}}}}
  },
  "root": {
    "inputDefinitions": {"parameters": {"msg": {"parameterType": "STRING", "defaultValue": "hi"}}},
    "dag": {"tasks": {
      "a": {"taskInfo": {"name": "a"}, "componentRef": {"name": "comp-a"},
            "inputs": {"parameters": {"x": {"componentInputParameter": "msg"}}}},
      "b": {"taskInfo": {"name": "b"}, "componentRef": {"name": "comp-a"}, "dependentTasks": ["a"],
            "inputs": {"parameters": {"x": {"taskOutputParameter": {"producerTask": "a", "outputParameterKey": "Output"}}}}}
    }}
  }
}`
	check := func(t *testing.T, raw, wantField, wantDetail string) {
		t.Helper()
		spec, errs := Parse([]byte(raw), field.NewPath("spec", "pipelineSpec"))
		if len(errs) == 0 {
			errs = spec.Validate(nil, field.NewPath("spec", "pipelineSpec"), field.NewPath("spec", "platformSpec"))
		}
		if wantField == "" {
			if len(errs) > 0 {
				t.Fatalf("valid pipeline refused: %v", errs.ToAggregate())
			}
			return
		}
		for _, e := range errs {
			if e.Field == wantField && strings.Contains(e.Error(), wantDetail) {
				return
			}
		}
		t.Errorf("want an error on %s saying %q, got %v", wantField, wantDetail, errs.ToAggregate())
	}
	check(t, base, "", "")
	cases := []struct{ name, old, new, field, detail string }{
		{"schema version", `"2.1.0"`, `"3.0.0"`, "spec.pipelineSpec.schemaVersion", "supported values"},
		{"missing component", `"componentRef": {"name": "comp-a"}, "dependentTasks"`, `"componentRef": {"name": "comp-z"}, "dependentTasks"`,
			"spec.pipelineSpec.root.dag.tasks[b].componentRef.name", "comp-z"},
		{"missing executor", `{"executorLabel": "exec-a"`, `{"executorLabel": "exec-z"`, "spec.pipelineSpec.components[comp-a].executorLabel", "exec-z"},
		{"missing producer", `"producerTask": "a"`, `"producerTask": "q"`, "spec.pipelineSpec.root.dag.tasks[b].inputs.parameters[x].taskOutputParameter.producerTask", "q"},
		{"missing output", `"outputParameterKey": "Output"}`, `"outputParameterKey": "Nope"}`, "spec.pipelineSpec.root.dag.tasks[b].inputs.parameters[x].taskOutputParameter.outputParameterKey", "Nope"},
		{"missing pipeline input", `"componentInputParameter": "msg"`, `"componentInputParameter": "mzg"`, "spec.pipelineSpec.root.dag.tasks[a].inputs.parameters[x].componentInputParameter", "mzg"},
		{"missing dependency", `"dependentTasks": ["a"]`, `"dependentTasks": ["c"]`, "spec.pipelineSpec.root.dag.tasks[b].dependentTasks[0]", "c"},
		{"cycle", `"componentRef": {"name": "comp-a"},
            "inputs": {"parameters": {"x": {"componentInputParameter": "msg"}}}}`, `"componentRef": {"name": "comp-a"}, "dependentTasks": ["b"],
            "inputs": {"parameters": {"x": {"componentInputParameter": "msg"}}}}`, "spec.pipelineSpec.root.dag.tasks", "cycle"},
		{"default of the wrong type", `"defaultValue": "hi"`, `"defaultValue": 3`, "spec.pipelineSpec.root.inputDefinitions.parameters[msg].defaultValue", "STRING"},
		{"no name", `"pipelineInfo": {"name": "p"}`, `"pipelineInfo": {}`, "spec.pipelineSpec.pipelineInfo.name", "Required"},
		{"not an object", base, `[1]`, "spec.pipelineSpec", "JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := strings.Replace(base, c.old, c.new, 1)
			if raw == base {
				t.Fatalf("the case changes nothing: %q not found", c.old)
			}
			check(t, raw, c.field, c.detail)
		})
	}
}

func TestParseValue(t *testing.T) {
	good := []struct {
		t    ParameterType
		s    string
		want any
	}{
		{TypeString, "", ""}, {TypeString, "3", "3"}, {TypeInteger, "-7", int64(-7)}, {TypeDouble, "0.5", 0.5},
		{TypeDouble, "7", float64(7)}, {TypeBoolean, "true", true}, {TypeList, `[1,"a"]`, []any{int64(1), "a"}},
		{TypeStruct, `{"a":{"b":1}}`, map[string]any{"a": map[string]any{"b": int64(1)}}}, {TypeArtifact, "s3://b/k", "s3://b/k"},
	}
	for _, c := range good {
		got, err := ParseValue(c.t, c.s)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseValue(%s, %q) = %#v, %v; want %#v", c.t, c.s, got, err, c.want)
		}
	}
	bad := []struct {
		t ParameterType
		s string
	}{
		{TypeInteger, "1.5"}, {TypeInteger, "x"}, {TypeDouble, "NaN"}, {TypeDouble, "1e400"}, {TypeBoolean, "True"},
		{TypeBoolean, "1"}, {TypeList, `{"a":1}`}, {TypeList, "[1"}, {TypeStruct, "[]"}, {TypeArtifact, ""}, {TypeTaskFinalStatus, "{}"},
	}
	for _, c := range bad {
		if v, err := ParseValue(c.t, c.s); err == nil {
			t.Errorf("ParseValue(%s, %q) = %#v, want an error", c.t, c.s, v)
		}
	}
	// A default the SDK wrote as 1.0 is an integer.
	if err := CheckValue(TypeInteger, 1.0); err != nil {
		t.Error(err)
	}
	if err := CheckValue(TypeInteger, 1.5); err == nil {
		t.Error("1.5 accepted as an integer")
	}
}

// The KFP SDK writes YAML with PyYAML, for which an unquoted y, n, on or off is a
// string: an input named y (critical/mixed_parameters.yaml) keeps its name.
func TestDocumentsYAML12(t *testing.T) {
	docs, err := Documents([]byte("y: n\nlist: [on, off, yes]\nnum: 1.5\nint: 12345678901234567\n---\n# empty\n---\n7: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"int":12345678901234567,"list":["on","off","yes"],"num":1.5,"y":"n"}`, `{"7":"x"}`}
	if len(docs) != len(want) {
		t.Fatalf("got %d documents %q, want %q", len(docs), docs, want)
	}
	for i := range want {
		if string(docs[i]) != want[i] {
			t.Errorf("document %d = %s, want %s", i, docs[i], want[i])
		}
	}
}
