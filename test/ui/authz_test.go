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

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// TestViewerSeesNoActions: a user bound to view in team-a sees a run and its experiment
// but no action button; a terminate forced through the UI's own code is refused by the
// server, the refusal is shown, and the run goes on.
func TestViewerSeesNoActions(t *testing.T) {
	setup(t)
	const ns = "team-a"
	alice := clientFor(t, "alice")
	name := uniqueName("view")
	fixture(t, alice, ns, name, twoSteps, "")
	newRun(t, alice, ns, name, name, v1beta1.RunParameter{Name: "say-outcome", Value: "Running"})

	ctx := open(t, viewer, "#/ns/"+ns+"/runs/"+name)
	waitJS(t, ctx, `document.querySelector('[data-actions="runs"]') !== null && document.querySelectorAll('#graph g.node').length === 2`,
		"the run's page with its actions bar")
	if n := evalString(ctx, `document.querySelectorAll('[data-action]').length`); n != "0" {
		t.Errorf("%s action buttons shown to a viewer: %s", n, evalString(ctx, `[...document.querySelectorAll('[data-action]')].map(b => b.dataset.action).join(',')`))
	}
	navigate(t, ctx, "#/ns/"+ns+"/experiments")
	waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#experiments tr[data-experiment=%q] [data-actions]') !== null`, name), "the experiment's row")
	if n := evalString(ctx, `document.querySelectorAll('[data-action]').length`); n != "0" {
		t.Errorf("%s action buttons on experiments shown to a viewer", n)
	}

	navigate(t, ctx, "#/ns/"+ns+"/runs/"+name)
	waitJS(t, ctx, `document.querySelector('[data-actions="runs"]') !== null`, "the run's page")
	forced := fmt.Sprintf(`import('/js/actions.js').then(m => m.perform(%q, 'runs', %q, 'terminate')).then(r => r === undefined ? 'refused' : 'done')`, ns, name)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](forced, chromedp.EvalAwaitPromise))
	if err != nil || got != "refused" {
		t.Fatalf("forced terminate: %q %v", got, err)
	}
	banner := evalString(ctx, `document.getElementById('error').hidden ? '' : document.getElementById('error').innerText`)
	if !strings.Contains(banner, "Forbidden") || !strings.Contains(banner, viewer) {
		t.Errorf("error banner %q, want the server's Forbidden for %s", banner, viewer)
	}
	r, err := alice.PipelinesV1beta1().Runs(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Status.Conditions {
		if c.Type == "Terminating" {
			t.Errorf("the refused terminate changed the run: %+v", c)
		}
	}
	if r.Status.Phase == v1beta1.RunPhaseCanceling || r.Status.Phase == v1beta1.RunPhaseCanceled {
		t.Errorf("run %s after a refused terminate", r.Status.Phase)
	}
	screenshot(t, ctx, "forbidden")
}
