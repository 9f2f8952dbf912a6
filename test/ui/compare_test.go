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
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/generated/clientset/versioned"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/framework"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/kfpsdk"
	"github.com/pipelines-apiserver/pipelines-apiserver/test/s3server"
)

// TestCompareRuns: two runs of one version, picked from the list, side by side in the
// order they were ticked: the parameter they set differently is marked, the ones they share
// (given or defaulted) are not, a default is labelled as one, and the metrics section says
// there are none.
func TestCompareRuns(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("compare")
	fixture(t, alice, "team-a", name, "", typedInputs)
	a := newRun(t, alice, "team-a", name+"-a", name, v1beta1.RunParameter{Name: "lr", Value: "0.1"}, v1beta1.RunParameter{Name: "epochs", Value: "5"})
	// b a second newer than a, so the picker lists b above a: the columns must still follow
	// the order of the ticks, not of the list.
	time.Sleep(time.Until(a.CreationTimestamp.Add(1100 * time.Millisecond)))
	b := newRun(t, alice, "team-a", name+"-b", name, v1beta1.RunParameter{Name: "lr", Value: "0.5"}, v1beta1.RunParameter{Name: "epochs", Value: "5"})

	ctx := open(t, "alice", "#/ns/team-a/compare")
	for _, r := range []string{a.Name, b.Name} {
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#compare-pick tr[data-run=%q] input') !== null`, r), "run "+r+" to pick")
		click(t, ctx, fmt.Sprintf(`#compare-pick tr[data-run=%q] input`, r))
	}
	// Without this the test could not tell tick order from list order.
	listed := evalString(ctx, `[...document.querySelectorAll('#compare-pick tr[data-run]')].map((tr) => tr.dataset.run).join(',')`)
	if rows := strings.Split(listed, ","); slices.Index(rows, b.Name) > slices.Index(rows, a.Name) {
		t.Fatalf("picker lists %q, want %s above %s", listed, b.Name, a.Name)
	}
	click(t, ctx, "#compare")
	waitJS(t, ctx, `document.querySelector('#compare-parameters') !== null`, "the comparison")
	if got, want := evalString(ctx, `location.hash`), fmt.Sprintf("#/ns/team-a/compare?runs=%s,%s", a.Name, b.Name); got != want {
		t.Errorf("address %q, want %q", got, want)
	}
	differs := map[string]string{"lr": "true", "epochs": "false", "message": "false", "tags": "false"}
	for param, want := range differs {
		if got := evalString(ctx, fmt.Sprintf(`document.querySelector('#compare-parameters tr[data-row=%q]')?.dataset.differs`, param)); got != want {
			t.Errorf("row %s differs = %s, want %s", param, got, want)
		}
	}
	if got := evalString(ctx, `document.querySelector('#compare-parameters tr[data-row="lr"]').innerText`); !strings.Contains(got, "0.1") || !strings.Contains(got, "0.5") {
		t.Errorf("lr row %q, want both values", got)
	}
	if got := evalString(ctx, `document.querySelector('#compare-parameters tr[data-row="message"]').innerText`); strings.Count(got, "hi (default)") != 2 {
		t.Errorf("message row %q, want the default for both runs", got)
	}
	// Their tasks log no metrics: the section says so (TestCompareRunMetrics has some).
	if got := evalString(ctx, `document.querySelector('#no-metrics')?.innerText`); !strings.Contains(got, "No metrics") {
		t.Errorf("metrics section %q, want the note that there are none", got)
	}
	noStrayText(t, ctx)

	// A run alice may not read cannot be compared: the server's refusal is shown.
	navigate(t, ctx, fmt.Sprintf("#/ns/team-b/compare?runs=%s,%s", a.Name, b.Name))
	waitJS(t, ctx, `!document.getElementById('error').hidden`, "an error for team-b")
	if got := evalString(ctx, `document.getElementById('error').innerText`); !strings.Contains(got, "Forbidden") {
		t.Errorf("error shown: %q", got)
	}
}

// TestCompareRunMetrics: two runs of kfpsdk.Metrics (compiled by the real kfp SDK), one
// with rows=3 and one with rows=5, run to the end by Argo's controller, the process stand-in
// kubelet and the real launcher with a namespace's artifact store on SeaweedFS; the compare
// page shows both runs' metrics side by side, the differing rows metric (and parameter)
// marked, the equal accuracy not.
func TestCompareRunMetrics(t *testing.T) {
	setup(t)
	kfpsdk.Require(t)
	if launcherPath == "" {
		t.Fatal("cmd/pipelines-launcher was not built")
	}
	ns := env.NewNamespace(t, "ui")
	s3 := s3server.Start(t)
	s3.ConfigureNamespace(t, env.ControlPlane().Client(), ns, "pipelines")
	data, err := os.ReadFile(kfpsdk.Compile(t, kfpsdk.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	ir, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	admin := clientFor(t, framework.AdminUser)
	fixture(t, admin, ns, "metrics", "", string(ir))
	a := newRun(t, admin, ns, "rows-3", "metrics", v1beta1.RunParameter{Name: "rows", Value: "3"})
	b := newRun(t, admin, ns, "rows-5", "metrics", v1beta1.RunParameter{Name: "rows", Value: "5"})
	for _, r := range []*v1beta1.Run{a, b} {
		waitSucceeded(t, admin, ns, r.Name)
	}

	ctx := open(t, framework.AdminUser, fmt.Sprintf("#/ns/%s/compare?runs=%s,%s", ns, a.Name, b.Name))
	waitJS(t, ctx, `document.querySelector('#compare-metrics') !== null`, "the metrics table")
	for _, want := range []struct {
		table, row, differs string
		values              []string
	}{
		{"compare-parameters", "rows", "true", []string{"3", "5"}},
		{"compare-metrics", "train: rows", "true", []string{"3", "5"}},
		{"compare-metrics", "train: accuracy", "false", []string{"0.75", "0.75"}},
	} {
		sel := fmt.Sprintf(`#%s tr[data-row=%q]`, want.table, want.row)
		if got := evalString(ctx, fmt.Sprintf(`document.querySelector(%q)?.dataset.differs`, sel)); got != want.differs {
			t.Errorf("%s: differs = %s, want %s; table: %s", sel, got, want.differs, evalString(ctx, `document.querySelector('#`+want.table+`').innerText`))
		}
		// One cell per run, in the order of the columns.
		cells := evalString(ctx, fmt.Sprintf(`[...document.querySelectorAll('%s td')].map(td => td.innerText.trim()).join('|')`, sel))
		if cells != strings.Join(want.values, "|") {
			t.Errorf("%s: cells %q, want %q", sel, cells, strings.Join(want.values, "|"))
		}
	}
	if got := evalString(ctx, `document.querySelectorAll('#compare-metrics tr.differs .diff-mark').length`); got != "1" {
		t.Errorf("%s metrics marked as differing, want 1 (train: rows)", got)
	}
	noStrayText(t, ctx)
	screenshot(t, ctx, "compare")
}

// waitSucceeded waits until the run has finished (Python components take seconds each
// here), and fails the test unless it succeeded.
func waitSucceeded(t *testing.T, c versioned.Interface, ns, name string) {
	t.Helper()
	var run *v1beta1.Run
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		run, err = c.PipelinesV1beta1().Runs(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && run.Status.CompletionTime != nil, nil
	})
	if err != nil {
		t.Fatalf("run %s/%s did not finish: %v", ns, name, err)
	}
	if run.Status.Phase != v1beta1.RunPhaseSucceeded {
		var logs strings.Builder
		for _, s := range run.Status.Steps {
			log, _ := processes.Log(ns, s.Pod)
			fmt.Fprintf(&logs, "\n--- step %s (%s), pod %s:\n%s", s.Name, s.Phase, s.Pod, log)
		}
		t.Fatalf("run %s/%s %s (%s), want Succeeded%s", ns, name, run.Status.Phase, run.Status.Message, logs.String())
	}
}
