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
	"reflect"
	"strings"
	"testing"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
)

func testInput() *ExecutorInput {
	dataset := pipelinespec.ArtifactType{SchemaTitle: "system.Dataset", SchemaVersion: "0.0.1"}
	return &ExecutorInput{
		Inputs: ExecutorInputs{
			ParameterValues: map[string]any{
				"text1":      "hello",
				"num_epochs": json.Number("3"),
				"flag":       true,
				"labels":     map[string]any{"a": "b"},
				"input_one":  "one",
				"input_two":  "two",
			},
			Artifacts: map[string]*launcherspec.ArtifactList{
				"dataset": {Artifacts: []launcherspec.Artifact{{Type: dataset, URI: "s3://b/r/up/dataset", Metadata: map[string]any{"rows": json.Number("5")}}}},
				"gcs":     {Artifacts: []launcherspec.Artifact{{Type: dataset, URI: "gs://bucket/x"}}},
				"m":       {Artifacts: []launcherspec.Artifact{{Type: dataset, URI: "minio://mlpipeline/a/b"}}},
			},
		},
		Outputs: ExecutorOutputs{
			Parameters: map[string]*OutputParameter{"output_path": {OutputFile: "/tmp/kfp_outputs/parameters/output_path/data"}},
			Artifacts: map[string]*launcherspec.ArtifactList{
				"text2": {Artifacts: []launcherspec.Artifact{{Name: "text2", Type: dataset, URI: "s3://b/ns/run/task/pod/text2"}}},
				"model": {Artifacts: []launcherspec.Artifact{{Name: "model", Type: dataset, URI: "s3://b/ns/run/task/pod/model", Metadata: map[string]any{"framework": "x"}}}},
			},
			OutputFile: "/tmp/kfp_outputs/output_metadata.json",
		},
	}
}

// The placeholders as the KFP SDK writes them (the forms are those of the test data's
// container components).
func TestResolve(t *testing.T) {
	r := &resolver{in: testInput(), job: "run-1", task: "loop/task", root: "s3://b"}
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"parameters", []string{"--epochs", "{{$.inputs.parameters['num_epochs']}}", "{{$.inputs.parameters['flag']}}", "{{$.inputs.parameters['labels']}}"},
			[]string{"--epochs", "3", "true", `{"a":"b"}`}},
		{"placeholder in a string", []string{"prefix-{{$.inputs.parameters['text1']}}", "{{$.outputs.artifacts['text2'].uri}}/0"},
			[]string{"prefix-hello", "s3://b/ns/run/task/pod/text2/0"}},
		{"input artifacts", []string{"{{$.inputs.artifacts['dataset'].uri}}", "{{$.inputs.artifacts['dataset'].path}}", "{{$.inputs.artifacts['dataset'].metadata}}", "{{$.inputs.artifacts['gcs'].path}}", "{{$.inputs.artifacts['m'].path}}"},
			[]string{"s3://b/r/up/dataset", "/s3/b/r/up/dataset", `{"rows":5}`, "/gcs/bucket/x", "/minio/mlpipeline/a/b"}},
		{"outputs", []string{"{{$.outputs.parameters['output_path'].output_file}}", "{{$.outputs.artifacts['model'].path}}", "{{$.outputs.artifacts['model'].metadata}}"},
			[]string{"/tmp/kfp_outputs/parameters/output_path/data", "/s3/b/ns/run/task/pod/model", `{"framework":"x"}`}},
		{"concat", []string{`{"Concat": ["prefix-", "{{$.inputs.parameters['text1']}}", "{{$.outputs.artifacts['text2'].uri}}"]}`},
			[]string{"prefix-hellos3://b/ns/run/task/pod/text2"}},
		{"concat of several", []string{"sh", `{"Concat": ["{{$.inputs.parameters['input_one']}}", "+", "{{$.inputs.parameters['input_two']}}", "=three"]}`},
			[]string{"sh", "one+two=three"}},
		{"if present, present", []string{`{"IfPresent": {"InputName": "text1", "Then": ["--arg1", "{{$.inputs.parameters['text1']}}"]}}`},
			[]string{"--arg1", "hello"}},
		{"if present, absent", []string{"a", `{"IfPresent": {"InputName": "optional_input_1", "Then": ["--arg1", "{{$.inputs.parameters['optional_input_1']}}"]}}`, "b"},
			[]string{"a", "b"}},
		{"if present, else", []string{`{"IfPresent": {"InputName": "optional_input_2", "Then": ["--arg2", "{{$.inputs.parameters['optional_input_2']}}"], "Else": ["--arg2", "default value"]}}`},
			[]string{"--arg2", "default value"}},
		{"if present on an artifact", []string{`{"IfPresent": {"InputName": "dataset", "Then": ["--data", "{{$.inputs.artifacts['dataset'].path}}"]}}`},
			[]string{"--data", "/s3/b/r/up/dataset"}},
		{"nested", []string{`{"IfPresent": {"InputName": "text1", "Then": [{"Concat": ["--x=", "{{$.inputs.parameters['text1']}}"]}]}}`, `{"Concat": ["a", {"IfPresent": {"InputName": "nope", "Then": ["b"], "Else": ["c"]}}]}`},
			[]string{"--x=hello", "ac"}},
		{"job and task", []string{"{{$.pipeline_job_name}}", "{{$.pipeline_task_name}}", "{{$.pipeline_root}}"},
			[]string{"run-1", "loop/task", "s3://b"}},
		{"a JSON argument that is no placeholder", []string{`{"score": 1}`}, []string{`{"score": 1}`}},
		{"quoted names", []string{`{{$.inputs.parameters["text1"]}}`}, []string{"hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.resolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resolve(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// {{$}} is the executor input in KFP's JSON form.
func TestResolveExecutorInput(t *testing.T) {
	r := &resolver{in: testInput()}
	got, err := r.resolve([]string{"--executor_input", "{{$}}"})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got[1]), &v); err != nil {
		t.Fatalf("{{$}} is not JSON: %v", err)
	}
	inputs := v["inputs"].(map[string]any)
	if inputs["parameterValues"].(map[string]any)["num_epochs"] != float64(3) {
		t.Errorf("parameterValues: %v", inputs["parameterValues"])
	}
	a := inputs["artifacts"].(map[string]any)["dataset"].(map[string]any)["artifacts"].([]any)[0].(map[string]any)
	if a["uri"] != "s3://b/r/up/dataset" || a["type"].(map[string]any)["schemaTitle"] != "system.Dataset" {
		t.Errorf("input artifact: %v", a)
	}
	outputs := v["outputs"].(map[string]any)
	if outputs["outputFile"] != "/tmp/kfp_outputs/output_metadata.json" {
		t.Errorf("outputFile: %v", outputs["outputFile"])
	}
	if outputs["parameters"].(map[string]any)["output_path"].(map[string]any)["outputFile"] != "/tmp/kfp_outputs/parameters/output_path/data" {
		t.Errorf("output parameters: %v", outputs["parameters"])
	}
}

func TestResolveErrors(t *testing.T) {
	r := &resolver{in: testInput()}
	for _, in := range []string{
		"{{$.pipeline_google_cloud_project_id}}",
		"{{$.outputs.parameters['nope'].output_file}}",
		"{{$.outputs.artifacts['nope'].uri}}",
		"{{$.inputs.artifacts['dataset'].size}}",
		`{"Concat": "x"}`,
		`{"IfPresent": {"Then": ["x"]}}`,
	} {
		if got, err := r.resolve([]string{in}); err == nil {
			t.Errorf("resolve(%q) = %q, want an error", in, got)
		} else if !strings.Contains(err.Error(), "placeholder") && !strings.Contains(err.Error(), "Concat") && !strings.Contains(err.Error(), "IfPresent") {
			t.Errorf("resolve(%q): error %q does not say which placeholder", in, err)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for uri, want := range map[string]string{
		"s3://bucket/a/b":      "/s3/bucket/a/b",
		"minio://mlpipeline/x": "/minio/mlpipeline/x",
		"gs://g/y":             "/gcs/g/y",
		"oci://reg/img:tag":    "/oci/reg_img:tag",
		"/local/file":          "/local/file",
	} {
		if got := LocalPath(uri); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct{ expr, value, want string }{
		{`parseJson(string_value)["a"]`, `{"a": 1, "b": "x"}`, "1"},
		{`parseJson(string_value)["B_b"]`, `{"A_a": "1", "B_b": "2"}`, "2"},
		{`parseJson(string_value)["a"]["c"]`, `{"a": {"c": [1, 2]}}`, "[1,2]"},
		{`parseJson(string_value)["a"][1]`, `{"a": ["x", "y"]}`, "y"},
		{`string_value`, `plain`, "plain"},
	} {
		got, err := Select(tc.expr, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("Select(%s, %s) = %q, %v; want %q", tc.expr, tc.value, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ expr, value string }{
		{`parseJson(string_value)["nope"]`, `{"a": 1}`},
		{`parseJson(string_value)["a"]`, `not json`},
		{`int_value + 1`, `1`},
	} {
		if got, err := Select(tc.expr, tc.value); err == nil {
			t.Errorf("Select(%s, %s) = %q, want an error", tc.expr, tc.value, got)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		t    pipelinespec.ParameterType
		in   string
		want any
	}{
		{pipelinespec.TypeString, " a b ", " a b "},
		{pipelinespec.TypeInteger, "42", json.Number("42")},
		{pipelinespec.TypeInteger, "3.0", json.Number("3")},
		{pipelinespec.TypeDouble, "0.5", json.Number("0.5")},
		{pipelinespec.TypeBoolean, "True", true},
		{pipelinespec.TypeList, `[1, "a"]`, []any{json.Number("1"), "a"}},
		{pipelinespec.TypeStruct, `{"a": 1}`, map[string]any{"a": json.Number("1")}},
	} {
		got, err := ParseValue(tc.t, tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseValue(%s, %q) = %#v, %v; want %#v", tc.t, tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		t  pipelinespec.ParameterType
		in string
	}{
		{pipelinespec.TypeInteger, "3.5"}, {pipelinespec.TypeInteger, "x"}, {pipelinespec.TypeDouble, "x"},
		{pipelinespec.TypeBoolean, "yes"}, {pipelinespec.TypeList, `{"a": 1}`}, {pipelinespec.TypeStruct, `[1]`},
	} {
		if got, err := ParseValue(tc.t, tc.in); err == nil {
			t.Errorf("ParseValue(%s, %q) = %#v, want an error", tc.t, tc.in, got)
		}
	}
}

func TestParseArtifacts(t *testing.T) {
	def := &pipelinespec.ArtifactSpec{ArtifactType: pipelinespec.ArtifactType{SchemaTitle: "system.Dataset"}}
	list := &pipelinespec.ArtifactSpec{ArtifactType: def.ArtifactType, IsArtifactList: true}
	for _, tc := range []struct {
		name string
		raw  string
		def  *pipelinespec.ArtifactSpec
		how  launcherspec.ArtifactInput
		want []string
	}{
		{"artifact list", `{"artifacts":[{"name":"o","type":{"schemaTitle":"system.Model"},"uri":"s3://b/k"}]}`, def, launcherspec.ArtifactInput{}, []string{"s3://b/k system.Model"}},
		{"one artifact", `{"uri":"s3://b/k"}`, def, launcherspec.ArtifactInput{}, []string{"s3://b/k system.Dataset"}},
		{"bare URI", `s3://b/k`, def, launcherspec.ArtifactInput{}, []string{"s3://b/k system.Dataset"}},
		{"collected", `["{\"artifacts\":[{\"uri\":\"s3://b/1\"}]}", {"artifacts":[{"uri":"s3://b/2"}]}]`, list, launcherspec.ArtifactInput{}, []string{"s3://b/1 system.Dataset", "s3://b/2 system.Dataset"}},
		{"imported", `gs://g/data`, def, launcherspec.ArtifactInput{Imported: &pipelinespec.ImporterSpec{TypeSchema: pipelinespec.ArtifactType{SchemaTitle: "system.Artifact"}}}, []string{"gs://g/data system.Artifact"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArtifacts(tc.raw, tc.def, tc.how)
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, a := range got.Artifacts {
				s = append(s, a.URI+" "+a.Type.SchemaTitle)
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
	if _, err := parseArtifacts(`[{"uri":"s3://b/1"},{"uri":"s3://b/2"}]`, def, launcherspec.ArtifactInput{}); err == nil {
		t.Error("two artifacts for a single input: no error")
	}
	if _, err := parseArtifacts(`{"artifacts":[{"name":"x"}]}`, def, launcherspec.ArtifactInput{}); err == nil {
		t.Error("an artifact without a URI: no error")
	}
}

func TestOutputURI(t *testing.T) {
	if got, want := OutputURI("s3://bucket/root/", "team-a", "run-1", "for-loop-2/print-op", "run-1-123", "model"),
		"s3://bucket/root/team-a/run-1/for-loop-2/print-op/run-1-123/model"; got != want {
		t.Errorf("OutputURI = %q, want %q", got, want)
	}
}

// An exit task gets the final status KFP's backend writes: its execution states
// (COMPLETE, FAILED), a job resource name that starts with the pipeline's name, the
// producer task's name, and an error that is empty unless the task failed.
func TestFinalStatus(t *testing.T) {
	st := FinalStatus("Failed", "my-pipeline", "run-1", "print-op")
	if st["state"] != "FAILED" || st["pipelineTaskName"] != "print-op" || st["pipelineJobResourceName"] != "my-pipeline-run-1" {
		t.Errorf("FinalStatus(Failed) = %v", st)
	}
	if e, _ := st["error"].(map[string]any); e["message"] == nil {
		t.Errorf("FinalStatus(Failed) has no error message: %v", st)
	}
	st = FinalStatus("Succeeded", "my-pipeline", "run-1", "exit-handler-1")
	if st["state"] != "COMPLETE" || st["pipelineJobResourceName"] != "my-pipeline-run-1" || st["pipelineTaskName"] != "exit-handler-1" {
		t.Errorf("FinalStatus(Succeeded) = %v", st)
	}
	if e, ok := st["error"].(map[string]any); !ok || len(e) != 0 {
		t.Errorf("FinalStatus(Succeeded) error %v, want {}", st["error"])
	}
	if st := FinalStatus("Omitted", "p", "r", "t"); st["state"] != "UNKNOWN" {
		t.Errorf("FinalStatus(Omitted) = %v", st)
	}
}
