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

package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

var testOptions = Options{LauncherImage: "pipelines-apiserver:test", LauncherPath: "/usr/local/bin/pipelines-launcher"}

// TestCompileTestdata compiles a run of every valid pipeline of the shared test data
// and checks the workflow: one pod template per container task, counted from the file
// read generically, and none for anything else (no drivers, no importers).
func TestCompileTestdata(t *testing.T) {
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wf, want := CompileFile(t, file)
			pods := 0
			for _, tmpl := range wf.Spec.Templates {
				for _, k := range []string{"container", "script", "resource", "containerSet", "data", "http", "plugin"} {
					if tmpl[k] != nil {
						pods++
						if k != "container" {
							t.Errorf("template %s is a %s template", tmpl["name"], k)
						}
					}
				}
			}
			if pods != want {
				t.Errorf("%d pod templates, want %d (the container tasks)", pods, want)
			}
		})
	}
}

// Workflow is the part of a compiled workflow tests read.
type Workflow struct {
	Spec struct {
		Entrypoint string           `json:"entrypoint"`
		Templates  []map[string]any `json:"templates"`
	} `json:"spec"`
	Raw []byte `json:"-"`
}

// CompileFile compiles a run of the pipeline in file, with a value for every required
// input (see shareddata.RequiredValue), and returns the workflow and the number of container
// task instances the file declares, counted from the YAML read generically.
func CompileFile(t testing.TB, file string) (*Workflow, int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := pipelinespec.Documents(data)
	if err != nil {
		t.Fatal(err)
	}
	ir, errs := pipelinespec.Parse(docs[0], field.NewPath("pipelineSpec"))
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	var platform *pipelinespec.PlatformSpec
	if len(docs) > 1 {
		if platform, errs = pipelinespec.ParsePlatform(docs[1], field.NewPath("platformSpec")); len(errs) > 0 {
			t.Fatal(errs.ToAggregate())
		}
	}
	params := map[string]string{}
	for _, in := range ir.Inputs() {
		if !in.Optional {
			params[in.Name] = shareddata.RequiredValue(string(in.Type))
		}
	}
	raw, err := Compile(ir, platform, params, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	var wf Workflow
	if err := json.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	wf.Raw = raw
	var generic map[string]any
	if err := yaml.Unmarshal(docs[0], &generic); err != nil {
		t.Fatal(err)
	}
	return &wf, shareddata.ContainerTasks(generic, generic["root"].(map[string]any))
}

func TestLauncherSpecHasNoArgoTags(t *testing.T) {
	s := &launcherspec.Spec{Container: pipelinespec.ContainerSpec{Image: "x", Args: []string{"{{$}}", "{{$.inputs.parameters['a']}}", "{{{x}}}"}}}
	enc, err := launcherspec.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(enc, "{{") {
		t.Fatalf("Argo would substitute in %s", enc)
	}
	back, err := launcherspec.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Container.Args, " ") != strings.Join(s.Container.Args, " ") {
		t.Errorf("decoded %q, want %q", back.Container.Args, s.Container.Args)
	}
}
