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

package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// typedInputs is a KFP 2.x pipeline IR of two tasks, train after prepare, whose inputs
// have every type a run form offers: lr is required, the others have defaults or are
// optional.
const typedInputs = `{
  "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.14.6",
  "pipelineInfo": {"name": "typed-inputs"},
  "deploymentSpec": {"executors": {
    "exec-prepare": {"container": {"image": "busybox", "command": ["echo"], "args": ["{{$.inputs.parameters['message']}}"]}},
    "exec-train": {"container": {"image": "busybox", "command": ["echo"], "args": ["{{$.inputs.parameters['lr']}}"]}}}},
  "components": {
    "comp-prepare": {"executorLabel": "exec-prepare", "inputDefinitions": {"parameters": {"message": {"parameterType": "STRING"}}}},
    "comp-train": {"executorLabel": "exec-train", "inputDefinitions": {"parameters": {
      "epochs": {"parameterType": "NUMBER_INTEGER"}, "lr": {"parameterType": "NUMBER_DOUBLE"},
      "tags": {"parameterType": "LIST"}, "verbose": {"parameterType": "BOOLEAN"}}}}},
  "root": {
    "inputDefinitions": {"parameters": {
      "message": {"parameterType": "STRING", "defaultValue": "hi"},
      "epochs": {"parameterType": "NUMBER_INTEGER", "defaultValue": 10},
      "lr": {"parameterType": "NUMBER_DOUBLE"},
      "tags": {"parameterType": "LIST", "defaultValue": ["a"]},
      "verbose": {"parameterType": "BOOLEAN", "isOptional": true}}},
    "dag": {"tasks": {
      "prepare": {"taskInfo": {"name": "prepare"}, "componentRef": {"name": "comp-prepare"},
        "inputs": {"parameters": {"message": {"componentInputParameter": "message"}}}},
      "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"}, "dependentTasks": ["prepare"],
        "inputs": {"parameters": {
          "epochs": {"componentInputParameter": "epochs"}, "lr": {"componentInputParameter": "lr"},
          "tags": {"componentInputParameter": "tags"}, "verbose": {"componentInputParameter": "verbose"}}}}}}}}`

// setValue sets a form field's value as typing would leave it.
func setValue(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		t.Fatalf("setting %s: %v", sel, err)
	}
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
}

// TestCreateRunFromForm: alice opens a v2 pipeline, sees its graph and typed inputs, and
// creates a run from the form the version's inputs make. A value of the wrong type is
// pointed out in the page and nothing is created; the values she gives reach the run, the
// defaults she leaves stand, and the run starts.
func TestCreateRunFromForm(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("form")
	fixture(t, alice, "team-a", name, "", typedInputs)

	ctx := open(t, "alice", "#/ns/team-a/pipelines/"+name)
	waitJS(t, ctx, `document.querySelectorAll('#graph svg .node').length === 2 && document.querySelector('#inputs') !== null`, "the graph and the inputs")
	if got := evalString(ctx, `[...document.querySelectorAll('#graph svg .edge')].map(e => e.dataset.from + '>' + e.dataset.to).join(',')`); got != "prepare>train" {
		t.Errorf("graph edges = %q, want prepare>train", got)
	}
	if got := evalString(ctx, `document.querySelector('#versions tr[data-version]').innerText`); !strings.Contains(got, "KFP 2.x") {
		t.Errorf("version row = %q, want the format KFP 2.x", got)
	}
	screenshot(t, ctx, "pipeline")

	click(t, ctx, "#new-run")
	waitJS(t, ctx, `document.querySelector('#run-form [data-param="lr"]') !== null`, "the run form")
	for param, want := range map[string]string{"message": "hi", "epochs": "10", "tags": `["a"]`, "lr": "", "verbose": ""} {
		if got := evalString(ctx, fmt.Sprintf(`document.querySelector('#run-form [data-param=%q]').value`, param)); got != want {
			t.Errorf("field %s prefilled with %q, want its default %q", param, got, want)
		}
	}
	runName := name + "-run"
	setValue(t, ctx, `#run-form [name="name"]`, runName)
	setValue(t, ctx, `#run-form [name="experiment"]`, name)
	setValue(t, ctx, `#run-form [data-param="epochs"]`, "three")
	click(t, ctx, "#create-run")
	waitJS(t, ctx, `document.querySelector('[data-invalid="epochs"]').textContent.includes('integer') &&
		document.querySelector('[data-invalid="lr"]').textContent.includes('required')`, "the form to point out epochs and lr")
	screenshot(t, ctx, "new-run")
	runs, err := alice.PipelinesV1beta1().Runs("team-a").List(t.Context(), metav1.ListOptions{FieldSelector: "spec.pipelineRef.pipelineName=" + name})
	if err != nil || len(runs.Items) != 0 {
		t.Fatalf("runs after a refused form: %v, %v", runs, err)
	}

	setValue(t, ctx, `#run-form [data-param="epochs"]`, "3")
	setValue(t, ctx, `#run-form [data-param="lr"]`, "0.25")
	setValue(t, ctx, `#run-form [data-param="tags"]`, `["x", "y"]`)
	setValue(t, ctx, `#run-form [data-param="verbose"]`, "true")
	click(t, ctx, "#create-run")
	waitJS(t, ctx, fmt.Sprintf(`location.hash === '#/ns/team-a/runs/%s'`, runName), "the new run's page")

	run, err := alice.PipelinesV1beta1().Runs("team-a").Get(t.Context(), runName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []v1beta1.RunParameter{{Name: "epochs", Value: "3"}, {Name: "lr", Value: "0.25"}, {Name: "message", Value: "hi"},
		{Name: "tags", Value: `["x", "y"]`}, {Name: "verbose", Value: "true"}}
	got := slices.Clone(run.Spec.Parameters)
	slices.SortFunc(got, func(a, b v1beta1.RunParameter) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(got, want) {
		t.Errorf("run parameters = %v, want %v", got, want)
	}
	if run.Spec.ExperimentName != name || run.Spec.PipelineRef.VersionName != name {
		t.Errorf("run spec = %+v, want experiment and version %s", run.Spec, name)
	}
	// It starts: the executor made its workflow, which Argo's controller runs.
	eventually(t, func() error {
		r, err := alice.PipelinesV1beta1().Runs("team-a").Get(t.Context(), runName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if r.Status.WorkflowName == "" || r.Status.Phase == "" || r.Status.Phase == v1beta1.RunPhasePending {
			return fmt.Errorf("run %s: phase %q, workflow %q", runName, r.Status.Phase, r.Status.WorkflowName)
		}
		return nil
	})
}

// TestUploadDetectsTheFormat: alice uploads a KFP v1 workflow and then a KFP 2.x IR as two
// versions of one new pipeline from the pipelines page; the UI server tells them apart as
// `kubectl pipelines upload` does, and a file that is neither is refused with the reason.
func TestUploadDetectsTheFormat(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("upload")
	dir := t.TempDir()
	files := map[string]string{"v1.yaml": oneStep, "v2.json": typedInputs, "bad.yaml": "hello: world\n"}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := open(t, "alice", "#/ns/team-a/pipelines")
	upload := func(file, version string) {
		t.Helper()
		waitJS(t, ctx, `document.querySelector('#upload input[type=file]') !== null`, "the upload form")
		if err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`document.getElementById('upload').open = true`),
			chromedp.SetUploadFiles(chromedp.CSS(`#upload input[type=file]`), []string{filepath.Join(dir, file)})); err != nil {
			t.Fatal(err)
		}
		setValue(t, ctx, `#upload [name="pipeline"]`, name)
		setValue(t, ctx, `#upload [name="version"]`, version)
		click(t, ctx, `#upload button[type=submit]`)
	}
	upload("v1.yaml", name+"-one")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#versions tr[data-version="%s-one"]') !== null`, name), "version one")
	navigate(t, ctx, "#/ns/team-a/pipelines")
	upload("v2.json", name+"-two")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#versions tr[data-version="%s-two"]') !== null && document.querySelectorAll('#graph svg .node').length === 2`, name),
		"version two and its graph")

	for version, wantIR := range map[string]bool{name + "-one": false, name + "-two": true} {
		v, err := alice.PipelinesV1beta1().PipelineVersions("team-a").Get(t.Context(), version, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if isIR := len(v.Spec.PipelineSpec.Raw) > 0; isIR != wantIR || v.Spec.PipelineName != name {
			t.Errorf("version %s: pipeline %q, IR %v, want IR %v", version, v.Spec.PipelineName, isIR, wantIR)
		}
	}

	navigate(t, ctx, "#/ns/team-a/pipelines")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#pipelines tr[data-pipeline=%q]') !== null`, name), "the new pipeline in the list")
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('upload').open = true`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "pipelines")
	upload("bad.yaml", name+"-three")
	waitJS(t, ctx, `!document.getElementById('error').hidden`, "the refusal")
	if got := evalString(ctx, `document.getElementById('error').innerText`); !strings.Contains(got, "neither an Argo Workflow (KFP v1) nor a pipeline IR (KFP 2.x)") {
		t.Errorf("error shown: %q", got)
	}
	if _, err := alice.PipelinesV1beta1().PipelineVersions("team-a").Get(t.Context(), name+"-three", metav1.GetOptions{}); err == nil {
		t.Errorf("a version was created from a file that is no pipeline")
	}
}

// TestCreateRunFromFormV1: a KFP v1 pipeline's parameters (strings, with the workflow's
// values as defaults) make the form too, and the run gets what was typed.
func TestCreateRunFromFormV1(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("form-v1")
	fixture(t, alice, "team-a", name, twoSteps, "")

	ctx := open(t, "alice", fmt.Sprintf("#/ns/team-a/pipelines/%s/versions/%s/run?experiment=%s", name, name, name))
	waitJS(t, ctx, `document.querySelector('#run-form [data-param="message"]') !== null`, "the run form")
	if got := evalString(ctx, `document.querySelector('#run-form [data-param="message"]').value`); got != "hello" {
		t.Errorf("message prefilled with %q, want the workflow's value hello", got)
	}
	setValue(t, ctx, `#run-form [data-param="message"]`, "from the form")
	click(t, ctx, "#create-run")
	waitJS(t, ctx, fmt.Sprintf(`location.hash.startsWith('#/ns/team-a/runs/%s-')`, name), "the new run's page, named after the pipeline")
	runName := strings.TrimPrefix(evalString(ctx, `location.hash`), "#/ns/team-a/runs/")
	run, err := alice.PipelinesV1beta1().Runs("team-a").Get(t.Context(), runName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(run.Spec.Parameters, v1beta1.RunParameter{Name: "message", Value: "from the form"}) || run.Spec.ExperimentName != name {
		t.Errorf("run spec = %+v, want message \"from the form\" in experiment %s", run.Spec, name)
	}
}
