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
	"encoding/json"
	"maps"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

func TestCompare(t *testing.T) {
	str := func(s string) *string { return &s }
	run := func(name, version string, params ...string) *v1beta1.Run {
		r := &v1beta1.Run{ObjectMeta: metav1.ObjectMeta{Name: name}}
		r.Status.PipelineVersion = version
		for i := 0; i < len(params); i += 2 {
			r.Spec.Parameters = append(r.Spec.Parameters, v1beta1.RunParameter{Name: params[i], Value: params[i+1]})
		}
		return r
	}
	v1 := &v1beta1.PipelineVersion{Status: v1beta1.PipelineVersionStatus{Parameters: []v1beta1.Parameter{
		{Name: "epochs", Default: str("10")}, {Name: "lr", Type: "NUMBER_DOUBLE"}, {Name: "mode", Default: str("fast")},
	}}}
	v1.UID = "uid-1"
	runs := []*v1beta1.Run{
		run("a", "v1", "lr", "0.1", "mode", "fast"),
		run("b", "v1", "lr", "0.5", "epochs", "10"),
		run("c", "gone", "lr", "0.1", "extra", "x"),
	}
	runs[0].Status.PipelineVersionUID = "uid-1"
	got := compare(runs, make([][]metric, len(runs)), map[string]*v1beta1.PipelineVersion{"/v1": v1, "/gone": nil})
	want := `[{"name":"epochs","values":[{"value":"10","default":true},{"value":"10"},null],"differs":true},` +
		`{"name":"extra","values":[null,null,{"value":"x"}],"differs":true},` +
		`{"name":"lr","values":[{"value":"0.1"},{"value":"0.5"},{"value":"0.1"}],"differs":true},` +
		`{"name":"mode","values":[{"value":"fast"},{"value":"fast","default":true},null],"differs":true}]`
	if b, _ := json.Marshal(got.Parameters); string(b) != want {
		t.Errorf("parameters\n%s\nwant\n%s", b, want)
	}

	// The same values, given or defaulted, do not differ.
	got = compare(runs[:2:2], make([][]metric, 2), map[string]*v1beta1.PipelineVersion{"/v1": v1})
	differs := map[string]bool{}
	for _, r := range got.Parameters {
		differs[r.Name] = r.Differs
	}
	if want := map[string]bool{"epochs": false, "lr": true, "mode": false}; !maps.Equal(differs, want) {
		t.Errorf("differs = %v, want %v", differs, want)
	}
	if len(got.Runs) != 2 || got.Runs[1].Name != "b" || got.Runs[1].Version != "v1" {
		t.Errorf("runs = %+v", got.Runs)
	}
	// A run pinned to an earlier version of the same name gets none of its defaults.
	runs[1].Status.PipelineVersionUID = "uid-0"
	got = compare(runs[:2:2], make([][]metric, 2), map[string]*v1beta1.PipelineVersion{"/v1": v1})
	if b, _ := json.Marshal(got.Parameters); strings.Contains(string(b), `{"value":"fast","default":true}`) {
		t.Errorf("a re-created version's default was shown: %s", b)
	}
	if got.MetricsNote == "" || len(got.Metrics) != 0 {
		t.Errorf("runs without metrics: metrics %v, note %q; want none and a note", got.Metrics, got.MetricsNote)
	}
}

// TestCompareMetrics reads metrics from runs' status as the executor writes them (a
// step's system.Metrics artifacts) and compares them, numbers as numbers.
func TestCompareMetrics(t *testing.T) {
	runA := `{"metadata": {"name": "a"}, "status": {"steps": [
	  {"name": "train", "outputArtifacts": [{"name": "model", "uri": "s3://b/m"}, {"name": "metrics", "type": "system.Metrics",
	    "metrics": [{"name": "accuracy", "value": "0.9"}, {"name": "loss", "value": "0.50"}]}]},
	  {"name": "eval", "outputArtifacts": [{"name": "m1", "metrics": [{"name": "auc", "value": "0.7"}]},
	    {"name": "m2", "metrics": [{"name": "auc", "value": "0.8"}]}]}]}}`
	runB := `{"metadata": {"name": "b"}, "status": {"steps": [
	  {"name": "train", "outputArtifacts": [{"name": "metrics", "metrics": [{"name": "accuracy", "value": "0.95"}, {"name": "loss", "value": "0.5"}]}]}]}}`
	var runs []*v1beta1.Run
	var metrics [][]metric
	for _, raw := range []string{runA, runB} {
		var r v1beta1.Run
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		runs, metrics = append(runs, &r), append(metrics, metricsOf(&r))
	}
	got := compare(runs, metrics, nil)
	want := `[{"name":"eval (m1): auc","values":[{"value":"0.7"},null],"differs":true},` +
		`{"name":"eval (m2): auc","values":[{"value":"0.8"},null],"differs":true},` +
		`{"name":"train: accuracy","values":[{"value":"0.9"},{"value":"0.95"}],"differs":true},` +
		`{"name":"train: loss","values":[{"value":"0.50"},{"value":"0.5"}],"differs":false}]`
	if b, _ := json.Marshal(got.Metrics); string(b) != want {
		t.Errorf("metrics\n%s\nwant\n%s", b, want)
	}
	if got.MetricsNote != "" {
		t.Errorf("note %q with metrics", got.MetricsNote)
	}
}
