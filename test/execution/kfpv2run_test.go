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

package execution

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/objectstore"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kfpsdk"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/s3server"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/shareddata"
)

// The IR constructs TestKFPv2PipelinesRun runs, each from the pipelines of the test data that
// use it.
const (
	constructCondition   = "condition"
	constructParallelism = "loop with parallelism"
	constructExitHandler = "exit handler"
	constructNested      = "nested pipeline"
	constructRetry       = "retry"
	constructIgnore      = "ignore upstream failure"
	constructArtifacts   = "artifacts between tasks"
	constructMetrics     = "metrics"
	constructNestedLoops = "nested loops"
)

// constructs are the constructs TestKFPv2PipelinesRun runs, in order.
var constructs = []string{constructCondition, constructParallelism, constructExitHandler, constructNested, constructRetry, constructIgnore,
	constructArtifacts, constructMetrics, constructNestedLoops}

// perConstruct is how many pipelines of the test data run for each construct: the ones with
// the fewest container tasks, so that the test stays short.
const perConstruct = 2

// irUse is what a pipeline IR uses, read generically.
type irUse struct {
	constructs map[string]bool
	// unrunnable says why the pipeline cannot run here, or is "".
	unrunnable string
	tasks      int
	// artifacts says the pipeline has artifacts: it runs for the artifact constructs only, so
	// that the pipelines run for the others stay the same.
	artifacts bool
}

// readUse reads what the IR document ir uses and whether it can run with the process stand-in
// kubelet: container executors only (no importer), no input artifacts of the run, no platform
// spec, no package to install but kfp at the virtualenv's version.
func readUse(ir map[string]any, documents int, kfpVersion string) irUse {
	use := irUse{constructs: map[string]bool{}, tasks: shareddata.ContainerTasks(ir, ir["root"].(map[string]any))}
	if documents > 1 {
		use.unrunnable = "a platform spec"
	}
	root, _ := ir["root"].(map[string]any)
	if defs, _ := root["inputDefinitions"].(map[string]any); defs["artifacts"] != nil {
		use.unrunnable = "input artifacts of the run"
	}
	components, _ := ir["components"].(map[string]any)
	all := []any{ir["root"]}
	for _, c := range components {
		all = append(all, c)
	}
	for name, c := range components {
		dag, _ := c.(map[string]any)["dag"].(map[string]any)
		tasks, _ := dag["tasks"].(map[string]any)
		for _, t := range tasks {
			tm, _ := t.(map[string]any)
			if strings.HasPrefix(name, "comp-for-loop-") && (tm["parameterIterator"] != nil || tm["artifactIterator"] != nil) {
				use.constructs[constructNestedLoops] = true
			}
		}
	}
	for _, c := range all {
		cm, _ := c.(map[string]any)
		for _, k := range []string{"inputDefinitions", "outputDefinitions"} {
			defs, _ := cm[k].(map[string]any)
			artifacts, _ := defs["artifacts"].(map[string]any)
			if len(artifacts) > 0 {
				use.artifacts = true
			}
			for _, a := range artifacts {
				am, _ := a.(map[string]any)
				ty, _ := am["artifactType"].(map[string]any)
				if k == "outputDefinitions" && ty["schemaTitle"] == "system.Metrics" {
					use.constructs[constructMetrics] = true
				}
			}
		}

		dag, _ := cm["dag"].(map[string]any)
		tasks, _ := dag["tasks"].(map[string]any)
		for _, t := range tasks {
			tm, _ := t.(map[string]any)
			trigger, _ := tm["triggerPolicy"].(map[string]any)
			if trigger["condition"] != nil {
				use.constructs[constructCondition] = true
			}
			if it, _ := tm["iteratorPolicy"].(map[string]any); it["parallelismLimit"] != nil {
				use.constructs[constructParallelism] = true
			}
			if trigger["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED" {
				deps, _ := tm["dependentTasks"].([]any)
				exit := slices.ContainsFunc(deps, func(d any) bool { s, _ := d.(string); return strings.HasPrefix(s, "exit-handler-") })
				if exit {
					use.constructs[constructExitHandler] = true
				} else {
					use.constructs[constructIgnore] = true
				}
			}
			if tm["retryPolicy"] != nil {
				use.constructs[constructRetry] = true
			}
			inputs, _ := tm["inputs"].(map[string]any)
			artifacts, _ := inputs["artifacts"].(map[string]any)
			for _, a := range artifacts {
				if am, _ := a.(map[string]any); am["taskOutputArtifact"] != nil {
					use.constructs[constructArtifacts] = true
				}
			}
			ref, _ := tm["componentRef"].(map[string]any)
			name, _ := ref["name"].(string)
			comp, _ := components[name].(map[string]any)
			if comp["dag"] != nil && !strings.HasPrefix(name, "comp-condition-") && !strings.HasPrefix(name, "comp-for-loop-") &&
				!strings.HasPrefix(name, "comp-exit-handler-") {
				use.constructs[constructNested] = true
			}
		}
	}
	deployment, _ := ir["deploymentSpec"].(map[string]any)
	executors, _ := deployment["executors"].(map[string]any)
	for _, e := range executors {
		em, _ := e.(map[string]any)
		ctr, _ := em["container"].(map[string]any)
		if ctr == nil {
			use.unrunnable = "an executor that is not a container"
			continue
		}
		// Components install what they need with pip: only the kfp version of the
		// virtualenv, which the processes see read-only, is there already.
		cmd := fmt.Sprint(ctr["command"], ctr["args"])
		for _, pin := range kfpPin.FindAllStringSubmatch(cmd, -1) {
			if pin[1] != kfpVersion {
				use.unrunnable = "kfp " + pin[1] + ", not the virtualenv's " + kfpVersion
			}
		}
		if strings.Contains(cmd, "gsutil") {
			use.unrunnable = "Google Cloud Storage's gsutil"
		}
		if strings.Count(cmd, "pip install") > 1 || strings.Contains(cmd, "--index-url") {
			use.unrunnable = "packages other than kfp"
		}
	}
	return use
}

var kfpPin = regexp.MustCompile(`'kfp==([^']+)'`)

// venvKFPVersion is the version of kfp in PIPELINES_KFP_VENV.
func venvKFPVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), filepath.Join(kfpsdk.VenvPath()[0], "python3"), "-c", "import kfp; print(kfp.__version__)").Output()
	if err != nil {
		t.Fatalf("kfp's version in %s: %v", kfpsdk.VenvPath()[0], err)
	}
	return strings.TrimSpace(string(out))
}

// ranPipeline is one pipeline TestKFPv2PipelinesRun ran.
type ranPipeline struct {
	file  string
	run   *v1beta1.Run
	store *objectstore.Store
}

// step returns the run's steps named name (several for a task in a loop).
func (p *ranPipeline) steps(name string) []v1beta1.StepStatus {
	var out []v1beta1.StepStatus
	for _, s := range p.run.Status.Steps {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the run's only step named name, failing the test otherwise.
func (p *ranPipeline) one(t *testing.T, name string) v1beta1.StepStatus {
	t.Helper()
	s := p.steps(name)
	if len(s) != 1 {
		t.Fatalf("%d steps %s, want 1; steps: %s", len(s), name, describeSteps(p.run))
	}
	return s[0]
}

func output(s v1beta1.StepStatus, name string) (string, bool) {
	for _, p := range s.OutputParameters {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

func describeSteps(r *v1beta1.Run) string {
	var b strings.Builder
	for _, s := range r.Status.Steps {
		fmt.Fprintf(&b, "\n  %s (%s) %s %s cache=%s outputs=%v artifacts=%v %s", s.Name, s.Template, s.Phase, s.Pod, s.Cache, s.OutputParameters, s.OutputArtifacts, s.Message)
	}
	return b.String()
}

// expectations are what the Python source beside each pipeline file says a run of it does,
// by the file's name; a pipeline without an entry must succeed with every task's declared
// outputs in its status.
var expectations = map[string]struct {
	phase v1beta1.RunPhase
	check func(t *testing.T, p *ranPipeline)
}{
	// core_comp returns 1 through two nested pipelines, whose tasks turn caching off.
	"mixed_parameters.yaml": {check: func(t *testing.T, p *ranPipeline) {
		core := p.one(t, "core-comp")
		if v, _ := output(core, "Output"); v != "1" || core.Cache != v1beta1.StepCacheDisabled {
			t.Errorf("core-comp: output %q cache %q, want 1 and Disabled", v, core.Cache)
		}
		if s := p.one(t, "crust-comp"); s.Phase != "Succeeded" {
			t.Errorf("crust-comp %s", s.Phase)
		}
	}},
	// Returns 1, 2 and the pipeline's input as NamedTuple fields through a nested pipeline.
	"multiple_parameters_namedtuple.yaml": {},
	// If heads, the If branch prints and returns "Got heads!", else "Got tails!"; OneOf hands
	// the branch's value on to the last task.
	"if_else_with_oneof_parameters.yaml": {check: func(t *testing.T, p *ranPipeline) {
		coin, _ := output(p.one(t, "flip-coin"), "Output")
		want := map[string]string{"heads": "Got heads!", "tails": "Got tails!"}[coin]
		if want == "" {
			t.Fatalf("flip-coin returned %q", coin)
		}
		ran := 0
		for _, s := range p.run.Status.Steps {
			if v, ok := output(s, "Output"); ok && s.Name != "flip-coin" {
				ran++
				if v != want {
					t.Errorf("%s returned %q after %s, want %q", s.Name, v, coin, want)
				}
			}
		}
		if ran != 2 {
			t.Errorf("%d print-and-return tasks ran, want 2 (one branch, then the last task): %s", ran, describeSteps(p.run))
		}
	}},
	// flip_coin_op's outcome decides which nested condition runs.
	"flip_coin.yaml": {},
	// Inside two nested pipelines: heads runs core_comp("Got heads!"), tails
	// core_output_comp("Got tails!"); OneOf hands the one that ran up to crust_comp. Caching
	// is off everywhere.
	"parameter_oneof.yaml": {check: func(t *testing.T, p *ranPipeline) {
		coin, _ := output(p.one(t, "flip-coin"), "Output")
		branch, key, want := "core-comp", "Output", "Got heads!"
		if coin == "tails" {
			branch, key, want = "core-output-comp", "output_key", "Got tails!"
		}
		if v, _ := output(p.one(t, branch), key); v != want {
			t.Errorf("flip-coin %q: %s returned %q, want %q", coin, branch, v, want)
		}
		crust := p.one(t, "crust-comp")
		if crust.Phase != "Succeeded" || crust.Cache != v1beta1.StepCacheDisabled {
			t.Errorf("crust-comp %s, cache %s", crust.Phase, crust.Cache)
		}
		if log, _ := processes.Log(p.run.Namespace, crust.Pod); !strings.Contains(string(log), "input : "+want) {
			t.Errorf("crust-comp's log:\n%s", log)
		}
	}},
	// The exit task echoes the message and the final status of the body, which succeeded.
	"pipeline_with_task_final_status_yaml.yaml": {check: func(t *testing.T, p *ranPipeline) {
		exit := p.one(t, "exit-op")
		log, _ := processes.Log(p.run.Namespace, exit.Pod)
		if !strings.Contains(string(log), "user input: Hello World! pipeline status:") || !strings.Contains(string(log), "COMPLETE") {
			t.Errorf("exit-op's log:\n%s", log)
		}
		if s := p.one(t, "print-op"); s.Phase != "Succeeded" {
			t.Errorf("print-op %s", s.Phase)
		}
	}},
	// fail_op fails inside the exit handler, print_op succeeds, and exit_op runs anyway and is
	// told the pipeline failed.
	"pipeline_with_task_final_status.yaml": {phase: v1beta1.RunPhaseFailed, check: func(t *testing.T, p *ranPipeline) {
		for name, phase := range map[string]string{"print-op": "Succeeded", "fail-op": "Failed", "exit-op": "Succeeded"} {
			if s := p.one(t, name); s.Phase != phase {
				t.Errorf("%s %s, want %s", name, s.Phase, phase)
			}
		}
		log, err := processes.Log(p.run.Namespace, p.one(t, "exit-op").Pod)
		if err != nil || !strings.Contains(string(log), "Pipeline status:  FAILED") || !strings.Contains(string(log), "Error code:") {
			t.Errorf("exit-op's log (%v):\n%s", err, log)
		}
	}},
	// Over loop_parameter (["a", "b"] here) with parallelism 2, print_text once per item and
	// once per pair; the loop over three dicts with parallelism 1 runs print_int one at a
	// time.
	"pipeline_with_parallelfor_parallelism.yaml": {check: func(t *testing.T, p *ranPipeline) {
		if n, m := len(p.steps("print-text")), len(p.steps("print-text-2")); n != 2 || m != 4 {
			t.Errorf("%d print-text and %d print-text-2 steps, want 2 and 4", n, m)
		}
		if v, _ := output(p.one(t, "list-dict-maker-0"), "Output"); v != `[{"a":1,"b":2},{"a":2,"b":3},{"a":3,"b":4}]` {
			t.Errorf("list-dict-maker-0 returned %s", v)
		}
		var one []v1beta1.StepStatus
		for _, s := range p.steps("print-int") {
			if s.StartTime == nil || s.CompletionTime == nil {
				t.Fatalf("print-int without times: %+v", s)
			}
			one = append(one, s)
		}
		if len(one) != 3 {
			t.Fatalf("%d print-int steps, want 3", len(one))
		}
		for i, a := range one {
			for _, b := range one[i+1:] {
				if a.StartTime.Before(b.CompletionTime) && b.StartTime.Before(a.CompletionTime) {
					t.Errorf("print-int steps %s and %s overlap under parallelism 1", a.Pod, b.Pod)
				}
			}
		}
	}},
	// threshold 2: double runs for 2 and 3 (not 1), add sums what was collected: 4 + 6.
	"conditional_producer_and_consumers.yaml": {check: func(t *testing.T, p *ranPipeline) {
		var doubled []string
		for _, s := range p.steps("double") {
			v, _ := output(s, "Output")
			doubled = append(doubled, v)
		}
		sort.Strings(doubled)
		if strings.Join(doubled, ",") != "4,6" {
			t.Errorf("double returned %v, want 4 and 6", doubled)
		}
		if v, _ := output(p.one(t, "add"), "Output"); v != "10" {
			t.Errorf("add returned %q, want 10", v)
		}
	}},
	// add(a, b) under a retry policy returns the sum of the defaults 1 and 7; Argo names
	// each attempt add(n).
	"pipeline_with_retry.yaml": {check: func(t *testing.T, p *ranPipeline) {
		s := p.one(t, "add(0)")
		if v, _ := output(s, "Output"); v != "8" {
			t.Errorf("add returned %q, want 8", v)
		}
	}},
	// echo_state asserts KFP's backend's final status: state COMPLETE, the run's resource
	// name holding the pipeline's name, the task exit-handler-1.
	"pipeline_with_input_status_state.yaml": {check: func(t *testing.T, p *ranPipeline) {
		for _, name := range []string{"some-task", "echo-state"} {
			if s := p.one(t, name); s.Phase != "Succeeded" {
				t.Errorf("%s %s", name, s.Phase)
			}
		}
	}},
	// core_comp writes "foo" to its dataset, which two nested pipelines hand on as their
	// output to crust_comp, which prints it.
	"artifact_cache.yaml": {check: func(t *testing.T, p *ranPipeline) {
		if got := p.content(t, p.artifact(t, "core-comp", "dataset").URI); got != "foo" {
			t.Errorf("core-comp's dataset holds %q, want foo", got)
		}
		crust := p.one(t, "crust-comp")
		if log, _ := processes.Log(p.run.Namespace, crust.Pod); !strings.Contains(string(log), "input:  foo") {
			t.Errorf("crust-comp's log:\n%s", log)
		}
	}},
	// gen_data returns a dataset at dsl.get_uri() holding "some data" (metadata length 9);
	// train_model asserts both and returns a model holding "model trained".
	"pythonic_artifacts_test_pipeline.yaml": {check: func(t *testing.T, p *ranPipeline) {
		if got := p.content(t, p.artifact(t, "gen-data", "Output").URI); got != "some data" {
			t.Errorf("gen-data's dataset holds %q", got)
		}
		model := p.artifact(t, "train-model", "Output")
		if got := p.content(t, model.URI); got != "model trained" || model.Type != "system.Model" {
			t.Errorf("train-model's model (%s) holds %q", model.Type, got)
		}
	}},
	// train writes rows 0..2 and logs accuracy 0.75 and rows 3; evaluate reads both.
	"metrics.yaml": {check: func(t *testing.T, p *ranPipeline) {
		if got := p.content(t, p.artifact(t, "train", "data").URI); got != "0,1,2" {
			t.Errorf("train's data holds %q", got)
		}
		m := p.artifact(t, "train", "metrics")
		if fmt.Sprintf("%s %v", m.Type, m.Metrics) != "system.Metrics [{accuracy 0.75} {rows 3}]" {
			t.Errorf("train's metrics %s %v, want accuracy 0.75 and rows 3", m.Type, m.Metrics)
		}
		if v, _ := output(p.one(t, "evaluate"), "Output"); v != "0,1,2 at 0.75" {
			t.Errorf("evaluate returned %q", v)
		}
	}},
	// An outer loop over loop_parameter's two items, an inner one over each item's p_a
	// (q_a 1, 2, then 11, 22); a loop over '1', '2' printing each, and inside it a loop over
	// '100', '200', '300' printing both.
	"pipeline_with_nested_loops.yaml": {check: func(t *testing.T, p *ranPipeline) {
		want := map[string][]string{
			"print-op":   {"msg: 1, msg2: None", "msg: 11, msg2: None", "msg: 2, msg2: None", "msg: 22, msg2: None"},
			"print-op-2": {"msg: 1, msg2: None", "msg: 2, msg2: None"},
			"print-op-3": {"msg: 1, msg2: 100", "msg: 1, msg2: 200", "msg: 1, msg2: 300", "msg: 2, msg2: 100", "msg: 2, msg2: 200", "msg: 2, msg2: 300"},
		}
		for task, lines := range want {
			var got []string
			for _, s := range p.steps(task) {
				log, _ := processes.Log(p.run.Namespace, s.Pod)
				got = append(got, regexp.MustCompile(`msg: .*`).FindString(string(log)))
			}
			sort.Strings(got)
			if !slices.Equal(got, lines) {
				t.Errorf("%s printed %q, want %q", task, got, lines)
			}
		}
	}},
	// fail() fails; the task after it ignores that and runs. Argo ends the DAG as its leaf
	// task did, Succeeded.
	"ignore_upstream_failure.yaml": {check: func(t *testing.T, p *ranPipeline) {
		if s := p.one(t, "fail"); s.Phase != "Failed" {
			t.Errorf("fail %s", s.Phase)
		}
		if v, _ := output(p.one(t, "after"), "Output"); v != "cleaned up" {
			t.Errorf("after returned %q", v)
		}
	}},
}

// TestKFPv2PipelinesRun runs, for each construct (conditions, loops with parallelism, exit
// handlers, nested pipelines, retries, ignore-upstream-failure), the pipelines of the test data
// that use it and can run here (the fewest tasks first), plus one the kfp SDK compiles here
// where the test data has none, through Argo's real controller, the process stand-in kubelet
// and the real launcher running each component's command (lightweight Python components
// through the real kfp package), and checks each run's per-task status against what the
// pipeline's Python source says.
func TestKFPv2PipelinesRun(t *testing.T) {
	setup(t)
	if launcherPath == "" {
		requireDep(t, "cmd/pipelines-launcher is not in this tree")
	}
	kfpsdk.Require(t)
	type candidate struct {
		file string
		use  irUse
	}
	version := venvKFPVersion(t)
	var candidates []candidate
	for _, file := range shareddata.Files(t, "kfp-v2", "valid", ".yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := pipelinespec.Documents(data)
		if err != nil {
			t.Fatal(err)
		}
		var ir map[string]any
		if err := yaml.Unmarshal(docs[0], &ir); err != nil {
			t.Fatal(err)
		}
		if use := readUse(ir, len(docs), version); use.unrunnable == "" {
			candidates = append(candidates, candidate{file, use})
		}
	}
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].use.tasks < candidates[j].use.tasks })
	chosen := map[string][]string{} // file -> constructs
	var files []string
	for _, construct := range constructs {
		n := 0
		for _, c := range candidates {
			withArtifacts := construct == constructArtifacts || construct == constructMetrics
			if n == perConstruct || !c.use.constructs[construct] || c.use.artifacts && !withArtifacts {
				continue
			}
			n++
			if chosen[c.file] == nil {
				files = append(files, c.file)
			}
			chosen[c.file] = append(chosen[c.file], construct)
		}
		if n == 0 {
			file := compileSDKPipeline(t, construct)
			files = append(files, file)
			chosen[file] = []string{construct + " (compiled here)"}
		}
	}

	ns := newNamespace(t)
	store := artifactStore(t, ns)
	c := clientFor(t, framework.AdminUser)
	p := c.PipelinesV1beta1()
	if _, err := p.Experiments(ns).Create(t.Context(), &v1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "kfp2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, file := range files {
		base := filepath.Base(file)
		name := fmt.Sprintf("p%d-%s", i, strings.ToLower(strings.NewReplacer("_", "-", ".yaml", "").Replace(base)))
		if len(name) > 40 {
			name = strings.TrimRight(name[:40], "-")
		}
		t.Run(name, func(t *testing.T) {
			t.Logf("%s: %s", file, strings.Join(chosen[file], ", "))
			if _, err := upload(t, framework.AdminUser, ns, file, "--name", "kfp2", "--version", name); err != nil {
				t.Fatalf("kubectl pipelines upload %s: %v", file, err)
			}
			version, err := p.PipelineVersions(ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var params []v1beta1.RunParameter
			for _, in := range version.Status.Parameters {
				if !in.Optional {
					params = append(params, v1beta1.RunParameter{Name: in.Name, Value: shareddata.RequiredValue(in.Type)})
				}
			}
			r := newRun(name, "kfp2", params...)
			r.Spec.PipelineRef.VersionName = name
			if _, err := p.Runs(ns).Create(t.Context(), r, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			run := waitRunLong(t, c, ns, name)
			ran := &ranPipeline{file: file, run: run, store: store}
			want := expectations[base]
			if want.phase == "" {
				want.phase = v1beta1.RunPhaseSucceeded
			}
			if run.Status.Phase != want.phase {
				var logs strings.Builder
				for _, s := range run.Status.Steps {
					if s.Phase == "Failed" || s.Phase == "Error" {
						log, _ := processes.Log(ns, s.Pod)
						fmt.Fprintf(&logs, "\n--- log of %s:\n%s", s.Name, tail(log, 2000))
					}
				}
				t.Fatalf("run %s (%s), want %s; steps: %s%s", run.Status.Phase, run.Status.Message, want.phase, describeSteps(run), logs.String())
			}
			for _, s := range run.Status.Steps {
				if s.Phase == "Skipped" || s.Phase == "Omitted" {
					continue
				}
				if s.Cache == "" || s.Pod == "" {
					t.Errorf("step %s: cache %q, pod %q", s.Name, s.Cache, s.Pod)
				}
			}
			checkArtifacts(t, ran)
			if want.check != nil {
				want.check(t, ran)
			}
			// kubectl describe (its generic describer) lists each step with its outputs.
			described, stderr, err := env.Kubectl(t.Context(), framework.AdminUser, "describe", "run", "-n", ns, name)
			if err != nil {
				t.Fatalf("kubectl describe run: %v\n%s", err, stderr)
			}
			for _, s := range run.Status.Steps {
				for _, o := range s.OutputParameters {
					if !strings.Contains(described, s.Pod) || !strings.Contains(described, o.Value) {
						t.Errorf("kubectl describe run does not show step %s's pod or output %s=%s:\n%s", s.Name, o.Name, o.Value, described)
					}
				}
			}
			if i == 0 {
				t.Logf("kubectl describe run:\n%s", described)
			}
			t.Logf("steps: %s", describeSteps(run))
		})
	}
}

// waitRunLong waits until the run has finished: Python components take seconds each here.
func waitRunLong(t *testing.T, c versioned.Interface, ns, name string) *v1beta1.Run {
	t.Helper()
	var run *v1beta1.Run
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		run, err = c.PipelinesV1beta1().Runs(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && run.Status.CompletionTime != nil, nil
	})
	if err != nil {
		t.Fatalf("run %s/%s did not finish: %v; status %+v", ns, name, err, statusOf(run))
	}
	return run
}

// requireDep skips the test with the reason, or fails it when PIPELINES_REQUIRE_TESTDEPS=1.
func requireDep(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(shareddata.EnvRequireTestDeps) == "1" {
		t.Fatalf("%s; %s=1 requires it", why, shareddata.EnvRequireTestDeps)
	}
	t.Skipf("%s; set %s=1 to fail instead", why, shareddata.EnvRequireTestDeps)
}

// sdkPipelines are pipelines for constructs the test data has no runnable pipeline of,
// compiled here by the kfp SDK of PIPELINES_KFP_VENV.
var sdkPipelines = map[string]string{
	constructMetrics: kfpsdk.Metrics,
	constructIgnore: `
from kfp import compiler, dsl

@dsl.component
def fail():
    import sys
    sys.exit(1)

@dsl.component
def after(msg: str) -> str:
    return msg

@dsl.pipeline(name='ignore-upstream-failure')
def pipeline():
    failed = fail()
    after(msg='cleaned up').after(failed).ignore_upstream_failure()

compiler.Compiler().compile(pipeline, 'ignore_upstream_failure.yaml')
`,
}

// compileSDKPipeline compiles the pipeline of sdkPipelines for construct and returns the file.
func compileSDKPipeline(t *testing.T, construct string) string {
	t.Helper()
	src, ok := sdkPipelines[construct]
	if !ok {
		t.Fatalf("no pipeline of the test data uses %s and can run here, and the test has none of its own", construct)
	}
	return kfpsdk.Compile(t, src)
}

// tail is the end of b, at most n bytes.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// bucket is the bucket of the namespace's artifact store.
const bucket = "pipelines"

// artifactStore starts an S3 server for the test and configures it as namespace ns's artifact
// store.
func artifactStore(t *testing.T, ns string) *objectstore.Store {
	t.Helper()
	s3 := s3server.Start(t)
	s3.ConfigureNamespace(t, env.ControlPlane().Client(), ns, bucket)
	store, err := objectstore.Open(t.Context(), objectstore.Config{Endpoint: s3.Endpoint, Region: s3.Region, Insecure: true,
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// content is what the store holds at uri, an object.
func (p *ranPipeline) content(t *testing.T, uri string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "object")
	if err := p.store.Get(t.Context(), uri, f); err != nil {
		t.Fatalf("reading %s from the store: %v", uri, err)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// artifact returns the output artifact name of the run's only step task, failing the test
// when it has none.
func (p *ranPipeline) artifact(t *testing.T, task, name string) v1beta1.StepOutputArtifact {
	t.Helper()
	for _, a := range p.one(t, task).OutputArtifacts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("step %s has no output artifact %s: %s", task, name, describeSteps(p.run))
	return v1beta1.StepOutputArtifact{}
}

// checkArtifacts checks that every output artifact in the run's status is stored under the
// namespace's root, in the run's directory, except a metrics artifact (its values are in the
// status; kfp writes no file for it).
func checkArtifacts(t *testing.T, p *ranPipeline) {
	t.Helper()
	prefix := "s3://" + bucket + "/root/" + p.run.Namespace + "/" + p.run.Name + "/"
	for _, s := range p.run.Status.Steps {
		for _, a := range s.OutputArtifacts {
			if !strings.HasPrefix(a.URI, prefix) {
				t.Errorf("step %s: artifact %s at %s, not under %s", s.Name, a.Name, a.URI, prefix)
				continue
			}
			if a.Type != "system.Metrics" {
				if err := p.store.Get(t.Context(), a.URI, filepath.Join(t.TempDir(), "artifact")); err != nil {
					t.Errorf("step %s: artifact %s at %s: %v", s.Name, a.Name, a.URI, err)
				}
			}
		}
	}
}
