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
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/launcherspec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// pythonRun is what a pipeline's Python source says a run computes, by pipeline name:
// the run's parameters and a check of the pods' outputs and logs.
type pythonRun struct {
	params map[string]string
	// fails names the task expected to fail (its command exits non-zero).
	fails string
	// failsWith is what the output of a component that fails says.
	failsWith string
	check     func(t *testing.T, e *env, r *runResult)
}

// output returns task's output parameter or artifact list as written.
func output(t *testing.T, r *runResult, task, name string) string {
	t.Helper()
	p := r.pod(task)
	if p == nil {
		t.Fatalf("no pod ran for task %s", task)
	}
	v, ok := p.Outputs[name]
	if !ok {
		t.Fatalf("task %s has no output %s (outputs: %v)", task, name, p.Outputs)
	}
	return v
}

func wantOutput(t *testing.T, r *runResult, task, name, want string) {
	t.Helper()
	if got := output(t, r, task, name); got != want {
		t.Errorf("task %s output %s = %q, want %q", task, name, got, want)
	}
}

func wantLog(t *testing.T, r *runResult, task string, lines ...string) {
	t.Helper()
	p := r.pod(task)
	if p == nil {
		t.Fatalf("no pod ran for task %s", task)
	}
	for _, l := range lines {
		if !strings.Contains(p.Output, l) {
			t.Errorf("task %s printed no %q; output:\n%s", task, l, p.Output)
		}
	}
}

// wantArtifact checks that task's output artifact name is in the store, under the
// run's root, holding content.
func wantArtifact(t *testing.T, e *env, r *runResult, task, name, content string) launcherspec.Artifact {
	t.Helper()
	a := r.pod(task).artifacts(t, name)[0]
	if prefix := root + "/" + namespace + "/" + r.Run + "/" + task + "/"; !strings.HasPrefix(a.URI, prefix) {
		t.Errorf("task %s artifact %s: URI %s is not under %s", task, name, a.URI, prefix)
	}
	if got := e.content(t, a.URI); got != content {
		t.Errorf("task %s artifact %s (%s) holds %q, want %q", task, name, a.URI, got, content)
	}
	return a
}

// The pipelines' sources are beside them in the test data (.py).
var pythonRuns = map[string]pythonRun{
	"artifact-cache-pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantArtifact(t, e, r, "mantle/core/core-comp", "dataset", "foo")
		wantLog(t, r, "crust-comp", "input:  foo")
	}},
	"v2-component-optional-input": {check: func(t *testing.T, e *env, r *runResult) {
		wantLog(t, r, "component-op", "input1: Hello, type: <class 'str'>", "input2: World, type: <class 'str'>", "input3: None")
	}},
	"mixed-parameters-pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "mantle/core/core-comp", "Output", "1")
		wantLog(t, r, "crust-comp", "sum : 3")
	}},
	"multiple-parameters-namedtuple-pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "mantle/core/core-comp", "val1", "foo")
		wantOutput(t, r, "mantle/core/core-comp", "val2", "bar")
		wantLog(t, r, "crust-comp", "val1:  foo", "val2:  bar")
	}},
	"parameter-cache-pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "mantle/core/core-comp", "Output", "foo")
		wantLog(t, r, "crust-comp", "input : foo")
	}},
	"pythonic-artifacts-test": {check: func(t *testing.T, e *env, r *runResult) {
		a := wantArtifact(t, e, r, "gen-data", "Output", "some data")
		if a.Metadata["length"] != float64(9) {
			t.Errorf("gen-data's dataset metadata %v, want length 9", a.Metadata)
		}
		// train-model asserts the dataset's content and metadata.
		wantArtifact(t, e, r, "train-model", "Output", "model trained")
	}},
	"concat-message": {params: map[string]string{"message1": "Hello, ", "message2": "world"}, check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "concat-message", "Output", "Hello, world")
	}},
	"identity": {params: map[string]string{"value": "it's me"}, check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "identity", "Output", "it's me")
	}},
	"nested-return": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "nested-return", "Output", `[{"A_a":"1","B_b":"2"},{"A_a":"10","B_b":"20"}]`)
	}},
	"fail-pipeline": {fails: "fail"},
	"preprocess": {params: map[string]string{"message": "hi there", "input_dict_parameter": `{"a": 1, "b": 2}`, "input_list_parameter": `["x", "y"]`},
		check: func(t *testing.T, e *env, r *runResult) {
			wantArtifact(t, e, r, "preprocess", "output_dataset_one", "hi there")
			wantArtifact(t, e, r, "preprocess", "output_dataset_two_path", "hi there")
			wantOutput(t, r, "preprocess", "output_parameter_path", "hi there")
			wantOutput(t, r, "preprocess", "output_bool_parameter_path", "true")
			wantOutput(t, r, "preprocess", "output_dict_parameter_path", `{"a":1,"b":2}`)
			wantOutput(t, r, "preprocess", "output_list_parameter_path", `["x","y"]`)
		}},
	"take-nap-pipeline": {params: map[string]string{"naptime_secs": "1"}, check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "take-nap", "Output", "I'm awake now. Did I snore?")
		wantLog(t, r, "take-nap", "Sleeping for 1 seconds")
		wantLog(t, r, "wake-up", "I'm awake now. Did I snore?")
	}},
	"test-pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "add", "Output", "8")
	}},
	"pipeline": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "sum-numbers", "Output", "3")
	}},
	"pipeline-with-utils": {params: map[string]string{"msg": "hello"}},
	// Compiled by a development build that pins kfp 2.14.3, whose release has no
	// dsl.EmbeddedInput: it fails in KFP as here.
	"nb-simple": {failsWith: "module 'kfp.dsl' has no attribute 'EmbeddedInput'"},
	// Root input artifacts hold "<name> content" (see seedInputs).
	"dataset-joiner": {check: func(t *testing.T, e *env, r *runResult) {
		wantOutput(t, r, "dataset-joiner", "Output", "dataset_a contentdataset_b content")
		wantArtifact(t, e, r, "dataset-joiner", "out_dataset", "dataset_a contentdataset_b content")
	}},
	"dataset-concatenator": {params: map[string]string{"string": "abc-"}, check: func(t *testing.T, e *env, r *runResult) {
		wantArtifact(t, e, r, "str-to-dataset", "dataset", "abc-")
		wantOutput(t, r, "dataset-joiner", "Output", "abc-in_dataset content")
		wantArtifact(t, e, r, "dataset-joiner", "out_dataset", "abc-in_dataset content")
	}},
}

// seedInputs puts each root input artifact of ir into the store, holding
// "<name> content", and gives its URI as the run's value.
func seedInputs(t *testing.T, e *env, ir *pipelinespec.PipelineSpec, run string, params map[string]string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for k, v := range params {
		all[k] = v
	}
	for _, in := range ir.Inputs() {
		if in.Type != pipelinespec.TypeArtifact {
			continue
		}
		f := filepath.Join(t.TempDir(), in.Name)
		if err := os.WriteFile(f, []byte(in.Name+" content"), 0o644); err != nil {
			t.Fatal(err)
		}
		uri := "s3://" + bucket + "/inputs/" + run + "/" + in.Name
		if err := e.store.Put(context.Background(), uri, f); err != nil {
			t.Fatal(err)
		}
		all[in.Name] = uri
	}
	return all
}

var kfpPin = regexp.MustCompile(`'kfp==([^']+)'`)

// pythonOnly says why the pipeline's executors are not all lightweight Python
// components this test can run as compiled (their command installs the kfp version
// of the virtualenv and nothing else, so that it needs no network), or "".
func pythonOnly(ir *pipelinespec.PipelineSpec, version string) string {
	for _, label := range sortedKeys(ir.DeploymentSpec.Executors) {
		e := ir.DeploymentSpec.Executors[label]
		if e.Container == nil {
			return label + " is not a container"
		}
		cmd := strings.Join(append(append([]string(nil), e.Container.Command...), e.Container.Args...), " ")
		if !strings.Contains(cmd, "kfp.dsl.executor_main") {
			return label + " is not a lightweight Python component"
		}
		pins := kfpPin.FindAllStringSubmatch(cmd, -1)
		if len(pins) != 1 || pins[0][1] != version {
			return fmt.Sprintf("%s installs kfp %v, not %s", label, pins, version)
		}
		if strings.Count(cmd, "pip install") != 1 || strings.Contains(cmd, "--index-url") {
			return label + " installs more packages"
		}
	}
	return ""
}

// Every lightweight Python component of every pipeline of the test data that the
// stand-in for Argo can run (no conditions, loops or importers) and whose components
// install the kfp version of the virtualenv runs for real: its command exactly as
// compiled, with python3 and pip from the virtualenv (read-only, no package index),
// through the launcher against SeaweedFS. Outputs are checked against what the
// pipeline's source computes.
func TestPythonComponents(t *testing.T) {
	bin, version := venv(t)
	e := newEnv(t)
	e.cluster.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "PIP_NO_INDEX=1"}
	e.cluster.ReadOnly = []string{filepath.Dir(bin)}
	e.cluster.Secrets["test-secret-1"] = map[string]string{"username": "user1"}
	ran := map[string]bool{}
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		rel, _ := filepath.Rel(filepath.Join(shareddata.Dir(t, "kfp-v2"), "valid"), file)
		ir, _ := compile(t, file, nil)
		if why := pythonOnly(ir, version); why != "" {
			t.Logf("%s: not run: %s", rel, why)
			continue
		}
		want := pythonRuns[ir.PipelineInfo.Name]
		run := "run-" + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(rel), ".yaml"), "_", "-")
		_, wf := compile(t, file, seedInputs(t, e, ir, run, want.params))
		if err := wf.supported(); err != nil {
			t.Logf("%s: not run: %v", rel, err)
			continue
		}
		ran[ir.PipelineInfo.Name] = true
		t.Run(rel, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r, err := e.cluster.run(t, ctx, wf, run)
			for _, p := range r.Pods {
				t.Logf("task %s: %s", p.Task, p.Duration.Round(time.Millisecond))
			}
			if want.fails != "" {
				p := r.pod(want.fails)
				if err == nil || p == nil || p.Err == nil || !strings.Contains(p.Err.Error(), "exit status 1") {
					t.Fatalf("task %s: want it to fail with exit status 1, got run error %v", want.fails, err)
				}
				if !strings.Contains(p.Output, "the component's command exited with code 1") {
					t.Errorf("the launcher did not say the command failed; output:\n%s", p.Output)
				}
				return
			}
			if want.failsWith != "" {
				if err == nil || !strings.Contains(err.Error(), want.failsWith) {
					t.Fatalf("want a component to fail saying %q, got %v", want.failsWith, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Pods) == 0 {
				t.Fatal("no pod ran")
			}
			for _, p := range r.Pods {
				checkOutputs(t, e, r, p)
			}
			if want.check != nil {
				want.check(t, e, r)
			}
		})
	}
	for name := range pythonRuns {
		if !ran[name] {
			t.Errorf("pipeline %s, whose results this test knows, was not found or not run", name)
		}
	}
	if len(ran) < 10 {
		t.Errorf("%d pipelines ran, want at least 10", len(ran))
	}
}

// checkOutputs checks that p wrote every output its component declares: parameters
// of their types, artifacts under the run's root that the store holds (a metrics
// artifact may have no content).
func checkOutputs(t *testing.T, e *env, r *runResult, p *podResult) {
	t.Helper()
	out := p.Spec.Outputs
	if out == nil {
		return
	}
	for name, def := range out.Parameters {
		v, ok := p.Outputs[name]
		if !ok {
			t.Errorf("task %s: no output parameter %s", p.Task, name)
			continue
		}
		if def.ParameterType != pipelinespec.TypeString {
			if err := json.Unmarshal([]byte(v), new(any)); err != nil {
				t.Errorf("task %s: output parameter %s of type %s is %q, not JSON", p.Task, name, def.ParameterType, v)
			}
		}
	}
	for name, def := range out.Artifacts {
		for _, a := range p.artifacts(t, name) {
			if a.Type.SchemaTitle != def.ArtifactType.SchemaTitle {
				t.Errorf("task %s artifact %s: type %s, want %s", p.Task, name, a.Type.SchemaTitle, def.ArtifactType.SchemaTitle)
			}
			if !strings.HasPrefix(a.URI, root+"/"+namespace+"/"+r.Run+"/"+p.Task+"/") {
				t.Errorf("task %s artifact %s: URI %s is not under the run's root", p.Task, name, a.URI)
			}
			if def.ArtifactType.SchemaTitle != "system.Metrics" {
				if err := e.store.Get(context.Background(), a.URI, filepath.Join(t.TempDir(), "a")); err != nil {
					t.Errorf("task %s artifact %s: %v", p.Task, name, err)
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
