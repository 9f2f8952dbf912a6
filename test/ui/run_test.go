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
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/controlplane"
)

// twoSteps is a KFP v1 pipeline of two tasks, again after say; the parameters
// say-outcome and again-outcome say how each step's pod ends (Running: when the test
// says, see controlplane.PodOutcomeAnnotation).
const twoSteps = `{
  "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "two-steps-"},
  "spec": {
    "entrypoint": "two-steps",
    "arguments": {"parameters": [{"name": "message", "value": "hello"},
      {"name": "say-outcome", "value": "Succeeded"}, {"name": "again-outcome", "value": "Succeeded"}]},
    "templates": [
      {"name": "two-steps", "dag": {"tasks": [
        {"name": "say", "template": "echo", "arguments": {"parameters": [
          {"name": "message", "value": "{{workflow.parameters.message}}"},
          {"name": "outcome", "value": "{{workflow.parameters.say-outcome}}"}]}},
        {"name": "again", "template": "echo", "dependencies": ["say"], "arguments": {"parameters": [
          {"name": "message", "value": "again"},
          {"name": "outcome", "value": "{{workflow.parameters.again-outcome}}"}]}}
      ]}},
      {"name": "echo", "inputs": {"parameters": [{"name": "message"}, {"name": "outcome"}]},
       "metadata": {"annotations": {"` + controlplane.PodOutcomeAnnotation + `": "{{inputs.parameters.outcome}}"}},
       "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.message}}"]}}
    ]
  }
}`

// twoTasksIR is a KFP v2 pipeline IR: evaluate after train, and a third task, report,
// after both. Every pod of it runs until the test ends it (the platform spec's pod
// annotation).
const twoTasksIR = `{"pipelineInfo": {"name": "ui-v2"}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.7.0",
 "deploymentSpec": {"executors": {"exec-step": {"container": {"image": "python:3.11", "command": ["echo", "hi"]}}}},
 "components": {"comp-step": {"executorLabel": "exec-step"}},
 "root": {"dag": {"tasks": {
  "train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-step"}},
  "evaluate": {"taskInfo": {"name": "evaluate"}, "componentRef": {"name": "comp-step"}, "dependentTasks": ["train"]},
  "report": {"taskInfo": {"name": "report"}, "componentRef": {"name": "comp-step"}, "dependentTasks": ["train", "evaluate"]}}}}}`

const holdPodsPlatform = `{"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-step":
  {"podMetadata": {"annotations": {"` + controlplane.PodOutcomeAnnotation + `": "Running"}}}}}}}}`

// Colours of app.css, as the browser computes an SVG fill.
var phaseFill = map[string]string{
	"":          "rgb(255, 255, 255)",
	"Pending":   "rgb(255, 243, 196)",
	"Running":   "rgb(187, 222, 251)",
	"Succeeded": "rgb(200, 230, 201)",
	"Failed":    "rgb(255, 205, 210)",
}

// nodeFill is the computed fill of a task's node in the graph, and its phase.
func nodeFill(ctx context.Context, task string) string {
	return evalString(ctx, fmt.Sprintf(`(() => { const g = document.querySelector('#graph g.node[data-name=%q]');
		return g ? g.dataset.phase + '|' + getComputedStyle(g.querySelector('rect')).fill : 'absent'; })()`, task))
}

// waitPhase waits until the task's node has the phase and its colour.
func waitPhase(t *testing.T, ctx context.Context, task, phase string) {
	t.Helper()
	want := phase + "|" + phaseFill[phase]
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, defaultWait, true, func(context.Context) (bool, error) {
		return nodeFill(ctx, task) == want, nil
	})
	if err != nil {
		t.Fatalf("task %s: node %q, want %q; error banner %q", task, nodeFill(ctx, task), want, evalString(ctx, `document.getElementById('error').innerText`))
	}
}

// markPage sets a value in the page's window, which a reload would lose.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
}

func checkNotReloaded(t *testing.T, ctx context.Context) {
	t.Helper()
	if got := evalString(ctx, `window.notReloaded === true`); got != "true" {
		t.Errorf("the page was reloaded")
	}
}

// TestRunGraphV1: a v1 run's page shows both tasks of its graph coloured by phase and
// recolours them as the workflow advances, without a reload; the selected task's log
// lines appear and keep coming while it runs; alice's terminate ends the run Canceled.
func TestRunGraphV1(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	name := uniqueName("graph")
	fixture(t, alice, ns, name, twoSteps, "")
	newRun(t, alice, ns, name, name,
		v1beta1.RunParameter{Name: "say-outcome", Value: "Running"}, v1beta1.RunParameter{Name: "again-outcome", Value: "Running"})

	ctx := open(t, "alice", "#/ns/"+ns+"/runs/"+name)
	markPage(t, ctx)
	waitJS(t, ctx, `document.querySelectorAll('#graph g.node').length === 2`, "both tasks in the graph")
	if got := evalString(ctx, `document.querySelectorAll('#graph path.edge[data-from="say"][data-to="again"]').length`); got != "1" {
		t.Errorf("%s edges say -> again", got)
	}
	sayPod := stepPod(t, ns, name, "say", corev1.PodRunning)
	waitPhase(t, ctx, "say", "Running")
	waitPhase(t, ctx, "again", "")

	// The log of say, followed.
	node.Append(ns, sayPod.Name, mainContainer, "say line 1")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#graph g.node[data-name="say"] rect`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.querySelector('#task h3')?.textContent.startsWith('say')`, "the task panel of say")
	node.Append(ns, sayPod.Name, mainContainer, "say line 2")
	waitJS(t, ctx, `document.getElementById('log').textContent.includes('say line 2')`, "say's first log lines")
	node.Append(ns, sayPod.Name, mainContainer, "say line 3")
	waitJS(t, ctx, `document.getElementById('log').textContent.includes('say line 3')`, "a log line written later")
	if got := evalString(ctx, `document.getElementById('log').textContent`); got != "say line 1\nsay line 2\nsay line 3\n" {
		t.Errorf("log %q", got)
	}

	// say ends: green; again starts: blue.
	node.Exit(ns, sayPod.Name, mainContainer)
	endPod(t, sayPod, "Succeeded")
	waitPhase(t, ctx, "say", "Succeeded")
	stepPod(t, ns, name, "again", corev1.PodRunning)
	waitPhase(t, ctx, "again", "Running")
	screenshot(t, ctx, "run")

	// Terminate from the UI.
	waitJS(t, ctx, `document.querySelector('[data-action="terminate"]') !== null`, "the terminate button")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-action="terminate"]`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		r, err := alice.PipelinesV1beta1().Runs(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if r.Status.Phase != v1beta1.RunPhaseCanceled {
			return fmt.Errorf("run phase %s", r.Status.Phase)
		}
		return nil
	})
	waitJS(t, ctx, `document.querySelector('h1 .badge')?.dataset.phase === 'Canceled'`, "the run shown Canceled")
	waitJS(t, ctx, `document.querySelector('[data-action="terminate"]') === null`, "no terminate button on a finished run")
	if got := evalString(ctx, `document.getElementById('error').hidden`); got != "true" {
		t.Errorf("error shown: %s", evalString(ctx, `document.getElementById('error').innerText`))
	}
	checkNotReloaded(t, ctx)
}

// TestRunGraphV2: a v2 (pipeline IR) run's graph shows its three tasks and their
// dependencies, and recolours them live as the test ends each pod.
func TestRunGraphV2(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	name := uniqueName("graph2")
	fixture(t, alice, ns, name, "", twoTasksIR, holdPodsPlatform)
	newRun(t, alice, ns, name, name)

	ctx := open(t, "alice", "#/ns/"+ns+"/runs/"+name)
	markPage(t, ctx)
	waitJS(t, ctx, `document.querySelectorAll('#graph g.node').length === 3`, "three tasks in the graph")
	edges := evalString(ctx, `[...document.querySelectorAll('#graph path.edge')].map(e => e.dataset.from + '>' + e.dataset.to).sort().join(' ')`)
	if want := "evaluate>report train>evaluate train>report"; edges != want {
		t.Errorf("edges %q, want %q", edges, want)
	}
	for _, step := range []string{"train", "evaluate"} {
		pod := stepPod(t, ns, name, step, corev1.PodRunning)
		waitPhase(t, ctx, step, "Running")
		endPod(t, pod, "Succeeded")
		waitPhase(t, ctx, step, "Succeeded")
	}
	pod := stepPod(t, ns, name, "report", corev1.PodRunning)
	waitPhase(t, ctx, "report", "Running")
	screenshot(t, ctx, "run-v2")
	endPod(t, pod, "Failed")
	waitPhase(t, ctx, "report", "Failed")
	waitJS(t, ctx, `document.querySelector('h1 .badge')?.dataset.phase === 'Failed'`, "the run shown Failed")
	checkNotReloaded(t, ctx)
	if !strings.Contains(evalString(ctx, `document.getElementById('graph').innerHTML`), "report") {
		t.Errorf("no report node")
	}
}
