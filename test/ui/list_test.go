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
	"fmt"
	"strings"
	"testing"
	"time"
)

// oneStep is a pipeline of one step that succeeds.
const oneStep = `{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "one-step-"},
  "spec": {"entrypoint": "echo", "templates": [{"name": "echo", "container": {"image": "busybox", "command": ["echo", "hello"]}}]}}`

// TestNamespacesAndRuns: alice's UI lists team-a, where she may list runs, and not team-b;
// it shows team-a's runs newest first (from recentruns where the server serves it) and
// not team-b's, and a page of team-b shows the
// server's refusal. A run created while the page is open appears without a reload.
func TestNamespacesAndRuns(t *testing.T) {
	setup(t)
	alice, bob := clientFor(t, "alice"), clientFor(t, "bob")
	name := uniqueName("list")
	fixture(t, alice, "team-a", name, oneStep, "")
	fixture(t, bob, "team-b", name, oneStep, "")
	first := newRun(t, alice, "team-a", name+"-1", name)
	newRun(t, bob, "team-b", name+"-b", name)

	ctx := open(t, "alice", "#/")
	waitJS(t, ctx, `document.querySelector('#namespaces [data-namespace="team-a"]') !== null`, "team-a in the namespaces")
	if got := evalString(ctx, `[...document.querySelectorAll('#namespaces [data-namespace]')].map(a => a.dataset.namespace).join(',')`); strings.Contains(got, "team-b") {
		t.Errorf("alice's namespaces: %s", got)
	}
	screenshot(t, ctx, "namespaces")

	navigate(t, ctx, "#/ns/team-a/runs")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#runs tr[data-run=%q]') !== null`, first.Name), "alice's run in the list")
	// A new run appears at the top, through the watch. Creation times have whole seconds and
	// runs of one second list by name, so -2 is created in a later second than -1.
	time.Sleep(time.Until(first.CreationTimestamp.Add(time.Second)))
	newRun(t, alice, "team-a", name+"-2", name)
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#runs tbody tr')?.dataset.run === %q`, name+"-2"), "the newest run first")
	if got := evalString(ctx, `document.getElementById('runs').innerText`); strings.Contains(got, name+"-b") {
		t.Errorf("alice's run list shows team-b's run:\n%s", got)
	}
	// recentruns where the server has it, else every run sorted in the page.
	want := "runs"
	if res, err := env.ControlPlane().Client().Discovery().ServerResourcesForGroupVersion("pipelines.kubeflow.org/v1beta1"); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range res.APIResources {
			if r.Name == "recentruns" {
				want = "recentruns"
			}
		}
	}
	if got := evalString(ctx, `document.getElementById('runs-page').dataset.source`); got != want {
		t.Errorf("runs read from %s, want %s", got, want)
	}
	screenshot(t, ctx, "runs")

	navigate(t, ctx, "#/ns/team-a/experiments")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#experiments tr[data-experiment=%q] [data-action="archive"]') !== null`, name), "the experiment with its archive button")
	screenshot(t, ctx, "experiments")

	navigate(t, ctx, "#/ns/team-b/runs")
	waitJS(t, ctx, `!document.getElementById('error').hidden`, "an error for team-b")
	if got := evalString(ctx, `document.getElementById('error').innerText`); !strings.Contains(got, "Forbidden") {
		t.Errorf("error shown for team-b: %q", got)
	}
	if got := evalString(ctx, `document.body.innerText`); strings.Contains(got, name+"-b") {
		t.Errorf("team-b's run is shown to alice")
	}
}
