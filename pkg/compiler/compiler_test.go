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
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
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
						md, _ := tmpl["metadata"].(map[string]any)
						annotations, _ := md["annotations"].(map[string]any)
						if c := annotations[EnableCacheAnnotation]; c != "true" && c != "false" {
							t.Errorf("template %s: annotation %s is %v", tmpl["name"], EnableCacheAnnotation, c)
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

// TestConstructs checks, over every valid pipeline of the test data, that each IR
// construct a file uses becomes its Argo form: conditions when, loops withItems or
// withParam with parallelism, exit handlers depends on failure too, final status the
// producer's status, retries retryStrategy, importers no pod but an imported input,
// and the platform spec's secrets, claims, tolerations and pod labels.
func TestConstructs(t *testing.T) {
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wf, _ := CompileFile(t, file)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs, _ := pipelinespec.Documents(data)
			ir, _ := pipelinespec.Parse(docs[0], nil)
			var platform *pipelinespec.PlatformSpec
			if len(docs) > 1 {
				platform, _ = pipelinespec.ParsePlatform(docs[1], nil)
			}
			text := string(wf.Raw)
			has := func(what, s string) {
				t.Helper()
				if !strings.Contains(text, s) {
					t.Errorf("%s: the workflow has no %s", what, s)
				}
			}
			var dagTasks []map[string]any
			for _, tmpl := range wf.Spec.Templates {
				if d, ok := tmpl["dag"].(map[string]any); ok {
					for _, task := range d["tasks"].([]any) {
						dagTasks = append(dagTasks, task.(map[string]any))
					}
				}
			}
			count := func(key string) int {
				n := 0
				for _, task := range dagTasks {
					if task[key] != nil {
						n++
					}
				}
				return n
			}
			conditions, rawLoops, paramLoops := 0, 0, 0
			for _, comp := range append([]*pipelinespec.ComponentSpec{ir.Root}, values(ir.Components)...) {
				if comp.DAG == nil {
					continue
				}
				for name, task := range comp.DAG.Tasks {
					if tp := task.TriggerPolicy; tp != nil && tp.Condition != "" {
						conditions++
					}
					if tp := task.TriggerPolicy; tp != nil && tp.Strategy == pipelinespec.AllUpstreamCompleted {
						has("task "+name+" runs after failures", ".Failed || ")
					}
					if it := task.ParameterIterator; it != nil && it.Items.Raw != "" {
						rawLoops++
					} else if it != nil || task.ArtifactIterator != nil {
						paramLoops++
					}
					if p := task.IteratorPolicy; p != nil && p.ParallelismLimit > 0 {
						has("task "+name+"'s parallelismLimit", `"parallelism":`+strconv.Itoa(int(p.ParallelismLimit)))
					}
					if p := task.RetryPolicy; p != nil && p.MaxRetryCount > 0 {
						has("task "+name+"'s retryPolicy", `"retryStrategy":{`)
						has("task "+name+"'s maxRetryCount", `"limit":`+strconv.Itoa(int(p.MaxRetryCount)))
					}
					if task.Inputs != nil {
						for _, in := range task.Inputs.Parameters {
							if in.TaskFinalStatus != nil {
								has("task "+name+"'s final status input", "{{tasks."+in.TaskFinalStatus.ProducerTask+".status}}")
							}
						}
					}
				}
			}
			// A DAG component may run in several places: at least one when per condition.
			if n := count("when"); n < conditions {
				t.Errorf("%d tasks with a when, want at least %d", n, conditions)
			}
			if n := count("withItems"); n < rawLoops {
				t.Errorf("%d tasks withItems, want at least %d", n, rawLoops)
			}
			if n := count("withParam"); n < paramLoops {
				t.Errorf("%d tasks withParam, want at least %d", n, paramLoops)
			}
			for label, e := range ir.DeploymentSpec.Executors {
				if e.Importer != nil && consumed(ir, label) {
					has("importer "+label, `\"imported\":`)
				}
				k := platform.Kubernetes(label)
				if k == nil || !usedBy(ir, label) {
					continue
				}
				for _, s := range k.SecretAsEnv {
					for _, kv := range s.KeyToEnv {
						has("secretAsEnv", `"key":"`+kv.SecretKey+`"`)
						has("secretAsEnv", `"name":"`+kv.EnvVar+`","valueFrom":{"secretKeyRef"`)
					}
				}
				for _, s := range k.SecretAsVolume {
					has("secretAsVolume", `"mountPath":"`+s.MountPath+`"`)
					has("secretAsVolume", `"secret":{`)
				}
				for _, p := range k.PVCMount {
					has("pvcMount", `"mountPath":"`+p.MountPath+`"`)
					has("pvcMount", `"persistentVolumeClaim":{"claimName":`)
				}
				for _, tol := range k.Tolerations {
					has("toleration", `"tolerations":[`)
					has("toleration", `"key":"`+tol.Key+`"`)
				}
				if m := k.PodMetadata; m != nil {
					for key, v := range m.Labels {
						has("pod label", `"`+key+`":"`+v+`"`)
					}
					for key := range m.Annotations {
						has("pod annotation", `"`+key+`":`)
					}
				}
			}
		})
	}
}

func values[V any](m map[string]V) []V {
	var out []V
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// usedBy says whether a task of ir runs the executor label.
func usedBy(ir *pipelinespec.PipelineSpec, label string) bool {
	for _, comp := range append([]*pipelinespec.ComponentSpec{ir.Root}, values(ir.Components)...) {
		if comp.DAG == nil {
			continue
		}
		for _, task := range comp.DAG.Tasks {
			if c := ir.Components[task.ComponentRef.Name]; c != nil && c.ExecutorLabel == label {
				return true
			}
		}
	}
	return false
}

// consumed says whether a task takes an artifact from a task running the executor
// label (an importer nobody consumes hands nothing on).
func consumed(ir *pipelinespec.PipelineSpec, label string) bool {
	for _, comp := range append([]*pipelinespec.ComponentSpec{ir.Root}, values(ir.Components)...) {
		if comp.DAG == nil {
			continue
		}
		for _, task := range comp.DAG.Tasks {
			if task.Inputs == nil {
				continue
			}
			for _, a := range task.Inputs.Artifacts {
				if a.TaskOutputArtifact == nil {
					continue
				}
				producer := comp.DAG.Tasks[a.TaskOutputArtifact.ProducerTask]
				if c := ir.Components[producer.ComponentRef.Name]; c != nil && c.ExecutorLabel == label {
					return true
				}
			}
		}
	}
	return false
}

// TestStoreEnv: every task's main container gets the namespace's artifact-store
// settings from the ConfigMap and Secret pipelines-artifacts, through optional
// references (credentials from the Secret only), and the launcher's init container
// gets none.
func TestStoreEnv(t *testing.T) {
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wf, _ := CompileFile(t, file)
			for _, tmpl := range wf.Spec.Templates {
				ctr, ok := tmpl["container"].(map[string]any)
				if !ok {
					continue
				}
				refs := map[string]map[string]any{}
				for _, e := range ctr["env"].([]any) {
					e := e.(map[string]any)
					if from, ok := e["valueFrom"].(map[string]any); ok && strings.HasPrefix(e["name"].(string), "PIPELINES_") {
						refs[e["name"].(string)] = from
					}
				}
				for _, v := range launcherspec.StoreEnv {
					kind, other := "configMapKeyRef", "secretKeyRef"
					if v.Secret {
						kind, other = other, kind
					}
					from := refs[v.Env]
					ref, _ := from[kind].(map[string]any)
					if ref == nil || from[other] != nil || ref["name"] != "pipelines-artifacts" || ref["key"] != v.Key || ref["optional"] != true {
						t.Errorf("template %s: %s is %v, want an optional %s to pipelines-artifacts key %s", tmpl["name"], v.Env, from, kind, v.Key)
					}
					delete(refs, v.Env)
				}
				if len(refs) > 0 {
					t.Errorf("template %s: unexpected store variables %v", tmpl["name"], refs)
				}
				for _, ic := range tmpl["initContainers"].([]any) {
					if env := ic.(map[string]any)["env"]; env != nil {
						t.Errorf("template %s: the launcher's init container has env %v", tmpl["name"], env)
					}
				}
			}
		})
	}
}

// TestPipelineRoot: a task's launcher spec carries the run's pipeline root when it has
// one, else the IR's defaultPipelineRoot, else none (the namespace's applies).
func TestPipelineRoot(t *testing.T) {
	files := shareddata.Files(t, "kfp-v2", "valid", ".yaml")
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	docs, err := pipelinespec.Documents(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, irRoot, runRoot, want string }{
		{"none", "", "", ""},
		{"the IR's", "minio://mlpipeline/v2/artifacts", "", "minio://mlpipeline/v2/artifacts"},
		{"the run's over the IR's", "minio://mlpipeline/v2/artifacts", "s3://team/runs", "s3://team/runs"},
		{"the run's", "", "s3://team/runs", "s3://team/runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ir, errs := pipelinespec.Parse(docs[0], field.NewPath("pipelineSpec"))
			if len(errs) > 0 {
				t.Fatal(errs.ToAggregate())
			}
			ir.DefaultPipelineRoot = tc.irRoot
			params := map[string]string{}
			for _, in := range ir.Inputs() {
				if !in.Optional {
					params[in.Name] = shareddata.RequiredValue(string(in.Type))
				}
			}
			opts := testOptions
			opts.PipelineRoot = tc.runRoot
			raw, err := Compile(ir, nil, params, opts)
			if err != nil {
				t.Fatal(err)
			}
			var wf Workflow
			if err := json.Unmarshal(raw, &wf); err != nil {
				t.Fatal(err)
			}
			tasks := 0
			for _, tmpl := range wf.Spec.Templates {
				ctr, ok := tmpl["container"].(map[string]any)
				if !ok {
					continue
				}
				tasks++
				for _, a := range ctr["args"].([]any) {
					if enc, ok := strings.CutPrefix(a.(string), "--spec="); ok {
						spec, err := launcherspec.Decode(enc)
						if err != nil {
							t.Fatal(err)
						}
						if spec.PipelineRoot != tc.want {
							t.Errorf("template %s: pipelineRoot %q, want %q", tmpl["name"], spec.PipelineRoot, tc.want)
						}
					}
				}
			}
			if tasks == 0 {
				t.Fatalf("%s compiled to no container task", files[0])
			}
		})
	}
}

// TestOutputsOfTasksThatDidNotRun: a DAG's output taken from a task that may not run (a
// condition) defaults to NotProduced, which Argo would otherwise fail the DAG over
// ("Unable to resolve", seen with Argo's controller on conditional_producer_and_consumers),
// and a loop leaves such values out of what it collects.
func TestOutputsOfTasksThatDidNotRun(t *testing.T) {
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		wf, _ := CompileFile(t, file)
		for _, tmpl := range wf.Spec.Templates {
			outs, _ := tmpl["outputs"].(map[string]any)
			params, _ := outs["parameters"].([]any)
			for _, p := range params {
				from := p.(map[string]any)["valueFrom"].(map[string]any)
				switch {
				case tmpl["dag"] == nil:
				case strings.HasPrefix(fmt.Sprint(from["parameter"]), "{{tasks.iteration."):
					t.Errorf("%s: loop %s collects without leaving out what was not produced: %v", file, tmpl["name"], from)
				case from["parameter"] != nil && from["default"] != NotProduced:
					t.Errorf("%s: DAG %s output %v has no default", file, tmpl["name"], from)
				}
			}
		}
	}
}

// TestCollectedNumbersStayNumbers: Argo gathers a loop's outputs as strings unless every
// value is a JSON list or object, so a loop collecting numbers (double's int outputs in
// conditional_producer_and_consumers) turns them back into JSON numbers; strings stay.
func TestCollectedNumbersStayNumbers(t *testing.T) {
	file := filepath.Join(shareddata.Dir(t, "kfp-v2"), "valid", "conditional_producer_and_consumers.yaml")
	wf, _ := CompileFile(t, file)
	found := false
	for _, tmpl := range wf.Spec.Templates {
		outs, _ := tmpl["outputs"].(map[string]any)
		params, _ := outs["parameters"].([]any)
		for _, p := range params {
			expr, _ := p.(map[string]any)["valueFrom"].(map[string]any)["expression"].(string)
			if strings.Contains(expr, "tasks['iteration']") {
				found = true
				if !strings.HasPrefix(expr, "toJson(map(filter(") {
					t.Errorf("%s collects int outputs without making them numbers: %s", tmpl["name"], expr)
				}
			}
		}
	}
	if !found {
		t.Fatal("no loop collects outputs")
	}
}

// TestLoopOverSelectedField: an inner loop over a field of the outer loop's item
// (pipeline_with_nested_loops: ParallelFor(item.p_a)) iterates over that field, selected
// where Argo reads withParam, not over the whole item (an object, which Argo refuses).
func TestLoopOverSelectedField(t *testing.T) {
	file := filepath.Join(shareddata.Dir(t, "kfp-v2"), "valid", "pipeline_with_nested_loops.yaml")
	wf, _ := CompileFile(t, file)
	var params []string
	for _, tmpl := range wf.Spec.Templates {
		dag, _ := tmpl["dag"].(map[string]any)
		tasks, _ := dag["tasks"].([]any)
		for _, task := range tasks {
			if p, ok := task.(map[string]any)["withParam"].(string); ok {
				params = append(params, p)
			}
		}
	}
	sort.Strings(params)
	want := []string{
		"{{=toJson(fromJSON(inputs.parameters['pipelinechannel--loop_parameter-loop-item-subvar-p_a'])['p_a'])}}",
		"{{inputs.parameters.pipelinechannel--loop_parameter}}",
	}
	if !slices.Equal(params, want) {
		t.Errorf("withParam of the loops:\n%s\nwant\n%s", strings.Join(params, "\n"), strings.Join(want, "\n"))
	}
}
