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
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// yearly is a job's schedule that creates no run while a test runs.
var yearly = v1beta1.Schedule{Cron: "0 0 0 1 1 *"}

// TestJobsAndActionsByRole: alice (edit in team-a) sees the jobs with their schedule and
// their actions, and disabling one from the page disables it; vera (view in team-a) sees
// the same pipelines and jobs with no action at all (no upload, no new run, no enable,
// disable or delete), and what she forces anyway the server refuses and the page shows.
func TestJobsAndActionsByRole(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("roles")
	fixture(t, alice, "team-a", name, "", typedInputs)
	job := &v1beta1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.JobSpec{ExperimentName: name, PipelineRef: v1beta1.PipelineRef{PipelineName: name}, Schedule: yearly,
			Parameters: []v1beta1.RunParameter{{Name: "lr", Value: "0.1"}}},
	}
	if _, err := alice.PipelinesV1beta1().Jobs("team-a").Create(t.Context(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf(`#jobs tr[data-job=%q]`, name)
	// A second job runs once, a second after it is created, and ends: its last run is shown.
	end := metav1.NewTime(time.Now().Add(1500 * time.Millisecond))
	once := job.DeepCopy()
	once.Name = name + "-once"
	once.Spec.Schedule = v1beta1.Schedule{IntervalSeconds: 1, EndTime: &end}
	if _, err := alice.PipelinesV1beta1().Jobs("team-a").Create(t.Context(), once, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("edit", func(t *testing.T) {
		ctx := open(t, "alice", "#/ns/team-a/jobs")
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('%s [data-action="disable"]') !== null && document.querySelector('%s [data-action="delete"]') !== null`, row, row),
			"the job with its actions")
		got := evalString(ctx, fmt.Sprintf(`document.querySelector('%s').innerText`, row))
		for _, want := range []string{"cron 0 0 0 1 1 *", "Enabled", name} {
			if !strings.Contains(got, want) {
				t.Errorf("job row %q lacks %q", got, want)
			}
		}
		// The scheduler computes the next run; the watch brings it to the page.
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('%s td[title]:nth-of-type(7)')?.title !== ''`, row), "the next run's time")
		noStrayText(t, ctx)
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#jobs tr[data-job=%q] td:nth-of-type(6)')?.title !== ''`, once.Name), "the last run of the job that ran once")
		screenshot(t, ctx, "jobs")
		click(t, ctx, row+` [data-action="disable"]`)
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('%s [data-enabled="false"]') !== null && document.querySelector('%s [data-action="enable"]') !== null`, row, row),
			"the job disabled, with Enable offered")
		j, err := alice.PipelinesV1beta1().Jobs("team-a").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Spec.Enabled == nil || *j.Spec.Enabled {
			t.Errorf("job enabled = %v after Disable, want false", j.Spec.Enabled)
		}

		navigate(t, ctx, "#/ns/team-a/pipelines")
		waitJS(t, ctx, `document.querySelector('#upload') !== null`, "the upload form")
		noStrayText(t, ctx)
		navigate(t, ctx, "#/ns/team-a/pipelines/"+name)
		waitJS(t, ctx, `document.querySelector('#new-run') !== null`, "the Create run button")
	})

	t.Run("view", func(t *testing.T) {
		ctx := open(t, viewer, "#/ns/team-a/jobs")
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('%s') !== null`, row), "the job")
		// The actions are asked for before the row is drawn: none came.
		if got := evalString(ctx, `document.querySelectorAll('#jobs [data-action]').length`); got != "0" {
			t.Errorf("vera sees %s job actions", got)
		}
		navigate(t, ctx, "#/ns/team-a/pipelines")
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#pipelines tr[data-pipeline=%q]') !== null`, name), "the pipeline")
		if got := evalString(ctx, `document.querySelector('#upload') === null`); got != "true" {
			t.Error("vera is offered the upload form")
		}
		navigate(t, ctx, "#/ns/team-a/pipelines/"+name)
		waitJS(t, ctx, `document.querySelector('#inputs') !== null && document.querySelectorAll('#graph svg .node').length === 2`, "the pipeline's inputs and graph")
		if got := evalString(ctx, `document.querySelector('#new-run') === null && document.querySelectorAll('main button').length === 0`); got != "true" {
			t.Errorf("vera is offered buttons on the pipeline page: %s", evalString(ctx, `[...document.querySelectorAll('main button, #new-run')].map(b => b.innerText).join(',')`))
		}
		navigate(t, ctx, fmt.Sprintf("#/ns/team-a/pipelines/%s/versions/%s/run", name, name))
		waitJS(t, ctx, `document.querySelector('#no-create') !== null && document.querySelector('#run-form') === null`, "no run form")

		// Forced: the requests the hidden buttons would make. The server refuses them.
		for what, req := range map[string]string{
			"enable": fmt.Sprintf(`fetch('/k8s/apis/pipelines.kubeflow.org/v1beta1/namespaces/team-a/jobs/%s/enable', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'})`, name),
			"upload": fmt.Sprintf(`fetch('/ui/upload/namespaces/team-a?pipeline=%s-forced', {method: 'POST', headers: {'Content-Type': 'application/octet-stream'}, body: %q})`,
				name, oneStep),
		} {
			status, err := chromedp.Run(ctx, chromedp.Evaluate[int](req+`.then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status != 403 {
				t.Errorf("forced %s answered %d (%v), want 403", what, status, err)
			}
		}
		if _, err := alice.PipelinesV1beta1().Pipelines("team-a").Get(t.Context(), name+"-forced", metav1.GetOptions{}); err == nil {
			t.Error("vera's forced upload created a pipeline")
		}
		// Through the page's own action code, the refusal is shown.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`import('/js/actions.js').then(m => m.perform('team-a', 'jobs', %q, 'enable'))`, name),
			chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, `!document.getElementById('error').hidden`, "the refusal shown")
		if got := evalString(ctx, `document.getElementById('error').innerText`); !strings.Contains(got, "Forbidden") || !strings.Contains(got, "jobs/enable") {
			t.Errorf("error shown: %q", got)
		}
		j, err := alice.PipelinesV1beta1().Jobs("team-a").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Spec.Enabled == nil || *j.Spec.Enabled {
			t.Errorf("job enabled = %v, want still false", j.Spec.Enabled)
		}
	})
}

// noStrayText fails the test if the view shows a line "null" or "undefined": a value
// the page meant to leave out.
func noStrayText(t *testing.T, ctx context.Context) {
	t.Helper()
	if got := evalString(ctx, `document.getElementById('view').innerText`); regexp.MustCompile(`(?m)^\s*(null|undefined)\s*$`).MatchString(got) {
		t.Errorf("the view shows a stray null or undefined:\n%s", got)
	}
}
