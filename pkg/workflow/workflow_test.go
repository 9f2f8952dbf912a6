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
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// problem is what a test expects of one field error: its type and where it is.
type problem struct {
	Type  field.ErrorType
	Field string
}

func problems(errs field.ErrorList) []problem {
	var out []problem
	for _, e := range errs {
		out = append(out, problem{Type: e.Type, Field: e.Field})
	}
	return out
}

// minimal is the smallest workflow Validate accepts; cases edit a copy of it.
const minimal = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "hello-"},
  "spec": {
    "entrypoint": "main",
    "arguments": {"parameters": [{"name": "message", "value": "hi"}, {"name": "count"}]},
    "templates": [
      {"name": "main", "dag": {"tasks": [{"name": "say", "template": "say"}]}},
      {"name": "say", "container": {"image": "alpine", "command": ["echo", "{{workflow.parameters.message}}"]}}
    ]
  }
}`

func TestParse(t *testing.T) {
	root := field.NewPath("spec", "workflow")
	tests := []struct {
		name string
		raw  string
		want []problem
	}{
		{name: "workflow", raw: minimal},
		{name: "surrounding whitespace", raw: "\n  " + minimal + "\n"},
		{name: "empty", raw: "", want: []problem{{field.ErrorTypeRequired, "spec.workflow"}}},
		{name: "only whitespace", raw: " \n\t", want: []problem{{field.ErrorTypeRequired, "spec.workflow"}}},
		{name: "null", raw: "null", want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "array", raw: `[{"kind": "Workflow"}]`, want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "string", raw: `"argoproj.io/v1alpha1"`, want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "number", raw: `42`, want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "not JSON", raw: `{apiVersion: argoproj.io/v1alpha1}`, want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "truncated", raw: minimal[:len(minimal)/2], want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "templates not a list", raw: `{"spec": {"templates": {"name": "main"}}}`, want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "steps not a list of lists", raw: `{"spec": {"templates": [{"name": "main", "steps": [{"name": "a"}]}]}}`,
			want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
		{name: "parameter value not a string", raw: `{"spec": {"arguments": {"parameters": [{"name": "n", "value": {"a": 1}}]}}}`,
			want: []problem{{field.ErrorTypeInvalid, "spec.workflow"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, errs := Parse([]byte(tc.raw), root)
			if diff := cmp.Diff(tc.want, problems(errs)); diff != "" {
				t.Fatalf("Parse errors (-want +got):\n%s\n%v", diff, errs)
			}
			if (w == nil) != (len(errs) > 0) {
				t.Errorf("Parse returned workflow %v with errors %v; want a workflow exactly when there are no errors", w, errs)
			}
		})
	}
}

func TestParseReadsKeysCaseSensitively(t *testing.T) {
	// kube-apiserver and Argo match keys exactly: "Entrypoint" is not the entrypoint.
	w, errs := Parse([]byte(`{"spec": {"Entrypoint": "main", "entrypoint": "real", "Templates": [{"name": "main"}]}}`), nil)
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	if w.Spec.Entrypoint != "real" || len(w.Spec.Templates) != 0 {
		t.Errorf("Parse read entrypoint %q and %d templates, want %q and none", w.Spec.Entrypoint, len(w.Spec.Templates), "real")
	}
}

func TestParseReadsParameters(t *testing.T) {
	w, errs := Parse([]byte(minimal), nil)
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	hi := "hi"
	want := []Parameter{{Name: "message", Value: &hi}, {Name: "count"}}
	if diff := cmp.Diff(want, w.Spec.Arguments.Parameters); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the minimal workflow, decoded as generic JSON.
		edit func(w map[string]interface{})
		want []problem
	}{
		{name: "minimal", edit: func(map[string]interface{}) {}},
		{
			name: "steps template",
			edit: func(w map[string]interface{}) {
				templates(w)[0] = obj(`{"name": "main", "steps": [[{"name": "a", "template": "say"}], [{"name": "b", "template": "say"}, {"name": "c", "template": "say"}]]}`)
			},
		},
		{
			name: "templateRef and inline templates name no local template",
			edit: func(w map[string]interface{}) {
				templates(w)[0] = obj(`{"name": "main", "dag": {"tasks": [
				  {"name": "a", "templateRef": {"name": "shared", "template": "elsewhere"}},
				  {"name": "b", "inline": {"container": {"image": "alpine"}}}]}}`)
			},
		},
		{
			name: "exit handlers naming templates",
			edit: func(w map[string]interface{}) {
				spec(w)["onExit"] = "say"
				templates(w)[0] = obj(`{"name": "main", "steps": [[{"name": "a", "template": "say", "onExit": "say"}]]}`)
			},
		},
		{
			name: "unknown fields are left to Argo",
			edit: func(w map[string]interface{}) {
				spec(w)["serviceAccountName"] = "pipeline-runner"
				spec(w)["podGC"] = obj(`{"strategy": "OnWorkflowSuccess"}`)
			},
		},
		{
			name: "wrong apiVersion",
			edit: func(w map[string]interface{}) { w["apiVersion"] = "argoproj.io/v1" },
			want: []problem{{field.ErrorTypeNotSupported, "spec.workflow.apiVersion"}},
		},
		{
			name: "no apiVersion",
			edit: func(w map[string]interface{}) { delete(w, "apiVersion") },
			want: []problem{{field.ErrorTypeNotSupported, "spec.workflow.apiVersion"}},
		},
		{
			name: "wrong kind",
			edit: func(w map[string]interface{}) { w["kind"] = "WorkflowTemplate" },
			want: []problem{{field.ErrorTypeNotSupported, "spec.workflow.kind"}},
		},
		{
			name: "kind in lower case",
			edit: func(w map[string]interface{}) { w["kind"] = "workflow" },
			want: []problem{{field.ErrorTypeNotSupported, "spec.workflow.kind"}},
		},
		{
			name: "missing entrypoint",
			edit: func(w map[string]interface{}) { delete(spec(w), "entrypoint") },
			want: []problem{{field.ErrorTypeRequired, "spec.workflow.spec.entrypoint"}},
		},
		{
			name: "entrypoint naming an unknown template",
			edit: func(w map[string]interface{}) { spec(w)["entrypoint"] = "mian" },
			want: []problem{{field.ErrorTypeNotFound, "spec.workflow.spec.entrypoint"}},
		},
		{
			name: "no templates",
			edit: func(w map[string]interface{}) { delete(spec(w), "templates") },
			want: []problem{
				{field.ErrorTypeRequired, "spec.workflow.spec.templates"},
				{field.ErrorTypeNotFound, "spec.workflow.spec.entrypoint"},
			},
		},
		{
			name: "template without a name",
			edit: func(w map[string]interface{}) { delete(templates(w)[1].(map[string]interface{}), "name") },
			want: []problem{
				{field.ErrorTypeRequired, "spec.workflow.spec.templates[1].name"},
				{field.ErrorTypeNotFound, "spec.workflow.spec.templates[0].dag.tasks[0].template"},
			},
		},
		{
			name: "duplicate template names",
			edit: func(w map[string]interface{}) {
				spec(w)["templates"] = append(templates(w), obj(`{"name": "say", "script": {"image": "python", "source": "print(1)"}}`))
			},
			want: []problem{{field.ErrorTypeDuplicate, "spec.workflow.spec.templates[2].name"}},
		},
		{
			name: "dag task naming an unknown template",
			edit: func(w map[string]interface{}) {
				templates(w)[0] = obj(`{"name": "main", "dag": {"tasks": [{"name": "a", "template": "say"}, {"name": "b", "template": "shout"}]}}`)
			},
			want: []problem{{field.ErrorTypeNotFound, "spec.workflow.spec.templates[0].dag.tasks[1].template"}},
		},
		{
			name: "step naming an unknown template",
			edit: func(w map[string]interface{}) {
				templates(w)[0] = obj(`{"name": "main", "steps": [[{"name": "a", "template": "say"}], [{"name": "b", "template": "say"}, {"name": "c", "template": "shout"}]]}`)
			},
			want: []problem{{field.ErrorTypeNotFound, "spec.workflow.spec.templates[0].steps[1][1].template"}},
		},
		{
			name: "exit handler naming an unknown template",
			edit: func(w map[string]interface{}) { spec(w)["onExit"] = "cleanup" },
			want: []problem{{field.ErrorTypeNotFound, "spec.workflow.spec.onExit"}},
		},
		{
			name: "task exit handler naming an unknown template",
			edit: func(w map[string]interface{}) {
				templates(w)[0] = obj(`{"name": "main", "dag": {"tasks": [{"name": "a", "template": "say", "onExit": "cleanup"}]}}`)
			},
			want: []problem{{field.ErrorTypeNotFound, "spec.workflow.spec.templates[0].dag.tasks[0].onExit"}},
		},
		{
			name: "duplicate parameter names",
			edit: func(w map[string]interface{}) {
				args := spec(w)["arguments"].(map[string]interface{})
				args["parameters"] = append(args["parameters"].([]interface{}), obj(`{"name": "message", "value": "again"}`))
			},
			want: []problem{{field.ErrorTypeDuplicate, "spec.workflow.spec.arguments.parameters[2].name"}},
		},
		{
			name: "parameter without a name",
			edit: func(w map[string]interface{}) {
				args := spec(w)["arguments"].(map[string]interface{})
				args["parameters"] = append(args["parameters"].([]interface{}), obj(`{"value": "x"}`))
			},
			want: []problem{{field.ErrorTypeRequired, "spec.workflow.spec.arguments.parameters[2].name"}},
		},
		{
			name: "everything wrong at once",
			edit: func(w map[string]interface{}) {
				w["apiVersion"] = "v1"
				w["kind"] = "Pod"
				delete(w, "spec")
			},
			want: []problem{
				{field.ErrorTypeNotSupported, "spec.workflow.apiVersion"},
				{field.ErrorTypeNotSupported, "spec.workflow.kind"},
				{field.ErrorTypeRequired, "spec.workflow.spec.templates"},
				{field.ErrorTypeRequired, "spec.workflow.spec.entrypoint"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var generic map[string]interface{}
			if err := yaml.Unmarshal([]byte(minimal), &generic); err != nil {
				t.Fatal(err)
			}
			tc.edit(generic)
			raw, err := yaml.Marshal(generic)
			if err != nil {
				t.Fatal(err)
			}
			raw, err = yaml.YAMLToJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			root := field.NewPath("spec", "workflow")
			w, errs := Parse(raw, root)
			if len(errs) > 0 {
				t.Fatalf("Parse(%s): %v", raw, errs)
			}
			errs = w.Validate(root)
			if diff := cmp.Diff(tc.want, problems(errs)); diff != "" {
				t.Errorf("Validate errors (-want +got):\n%s\n%v\nworkflow: %s", diff, errs, raw)
			}
		})
	}
}

func spec(w map[string]interface{}) map[string]interface{} {
	return w["spec"].(map[string]interface{})
}

func templates(w map[string]interface{}) []interface{} {
	return spec(w)["templates"].([]interface{})
}

// obj decodes a JSON object written in a test case.
func obj(s string) map[string]interface{} {
	var o map[string]interface{}
	if err := yaml.Unmarshal([]byte(s), &o); err != nil {
		panic(err)
	}
	return o
}

// testdataEnv makes missing test data a failure instead of a skip (CI sets it).
const testdataEnv = "PIPELINES_REQUIRE_TESTDEPS"

// kfpV1Dir is where the shared KFP v1 compiler output lives: the folder "shared"
// beside the module root.
func kfpV1Dir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "testdata", "kfp-v1")
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod in %s or above it", wd)
		}
	}
}

// TestKFPV1Workflows checks that the Argo manifests the Kubeflow Pipelines v1 SDK
// compiles are accepted unedited and that their parameters are read as declared.
func TestKFPV1Workflows(t *testing.T) {
	dir := kfpV1Dir(t)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		msg := "KFP v1 compiler output not found at " + dir + " (the shared test data beside the repository)"
		if os.Getenv(testdataEnv) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, testdataEnv)
		}
		t.Skipf("%s; set %s=1 to fail instead", msg, testdataEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			files = append(files, e.Name())
		}
	}
	if len(files) == 0 {
		t.Fatalf("no workflow files (.yaml, .yml, .json) in %s", dir)
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := yaml.YAMLToJSON(data)
			if err != nil {
				t.Fatalf("YAML to JSON: %v", err)
			}
			root := field.NewPath("spec", "workflow")
			w, errs := Parse(raw, root)
			if len(errs) > 0 {
				t.Fatalf("Parse: %v", errs.ToAggregate())
			}
			if errs := w.Validate(root); len(errs) > 0 {
				t.Errorf("Validate: %v", errs.ToAggregate())
			}
			if diff := cmp.Diff(declaredParameters(t, raw), w.Spec.Arguments.Parameters, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("parameters (-declared +read):\n%s", diff)
			}
			if want, ok := knownParameters[name]; ok {
				if diff := cmp.Diff(want, w.Spec.Arguments.Parameters, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("parameters (-want +read):\n%s", diff)
				}
			}
		})
	}
}

// knownParameters are the parameters of some of the KFP v1 files, written out by
// hand so that the test does not only compare two readings of the same YAML.
var knownParameters = map[string][]Parameter{
	"basic.yaml":          {{Name: "message"}, {Name: "outputpath"}},
	"coin.yaml":           nil,
	"default_value.yaml":  {{Name: "url", Value: ptr("gs://ml-pipeline/shakespeare1.txt")}},
	"pipelineparams.yaml": {{Name: "tag", Value: ptr("latest")}, {Name: "sleep_ms", Value: ptr("10")}},
	"withitem_basic.yaml": {{Name: "my_pipe_param", Value: ptr("10")}},
}

func ptr(s string) *string { return &s }

// declaredParameters reads spec.arguments.parameters from a manifest without this
// package's types: the names, and the values where the file gives one.
func declaredParameters(t *testing.T, raw []byte) []Parameter {
	t.Helper()
	var doc struct {
		Spec struct {
			Arguments struct {
				Parameters []map[string]interface{} `json:"parameters"`
			} `json:"arguments"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var params []Parameter
	for _, p := range doc.Spec.Arguments.Parameters {
		name, ok := p["name"].(string)
		if !ok {
			t.Fatalf("parameter without a string name: %v", p)
		}
		param := Parameter{Name: name}
		if v, ok := p["value"]; ok {
			s, ok := v.(string)
			if !ok {
				t.Fatalf("parameter %q: value %v is not a string", name, v)
			}
			param.Value = &s
		}
		params = append(params, param)
	}
	return params
}
