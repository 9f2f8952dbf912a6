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

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// TestCompareRuns: two runs of one version, picked from the list, side by side: the
// parameter they set differently is marked, the ones they share (given or defaulted) are
// not, a default is labelled as one, and the metrics section says what it has.
func TestCompareRuns(t *testing.T) {
	setup(t)
	alice := clientFor(t, "alice")
	name := uniqueName("compare")
	fixture(t, alice, "team-a", name, "", typedInputs)
	a := newRun(t, alice, "team-a", name+"-a", name, v1beta1.RunParameter{Name: "lr", Value: "0.1"}, v1beta1.RunParameter{Name: "epochs", Value: "5"})
	b := newRun(t, alice, "team-a", name+"-b", name, v1beta1.RunParameter{Name: "lr", Value: "0.5"}, v1beta1.RunParameter{Name: "epochs", Value: "5"})

	ctx := open(t, "alice", "#/ns/team-a/compare")
	for _, r := range []string{a.Name, b.Name} {
		waitJS(t, ctx, fmt.Sprintf(`document.querySelector('#compare-pick tr[data-run=%q] input') !== null`, r), "run "+r+" to pick")
		click(t, ctx, fmt.Sprintf(`#compare-pick tr[data-run=%q] input`, r))
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
	// Metrics: a table when the runs' tasks reported some, else the reason there is none.
	if got := evalString(ctx, `document.querySelector('#compare-metrics, #no-metrics')?.innerText`); got == "" || got == "undefined" {
		t.Errorf("metrics section shows nothing")
	}
	noStrayText(t, ctx)
	screenshot(t, ctx, "compare")

	// A run alice may not read cannot be compared: the server's refusal is shown.
	navigate(t, ctx, fmt.Sprintf("#/ns/team-b/compare?runs=%s,%s", a.Name, b.Name))
	waitJS(t, ctx, `!document.getElementById('error').hidden`, "an error for team-b")
	if got := evalString(ctx, `document.getElementById('error').innerText`); !strings.Contains(got, "Forbidden") {
		t.Errorf("error shown: %q", got)
	}
}
