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
	"net/http"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/v1beta1"
)

// maxCompared bounds how many runs one comparison reads.
const maxCompared = 10

// Comparison is two or more runs side by side.
type Comparison struct {
	Runs []ComparedRun `json:"runs"`
	// Parameters has a row for every parameter any of the runs has, by name.
	Parameters []Row `json:"parameters"`
	// Metrics has a row for every metric any of the runs' tasks reported, by task and name.
	Metrics []Row `json:"metrics"`
	// MetricsNote says why Metrics is empty, when it is.
	MetricsNote string `json:"metricsNote,omitempty"`
}

// ComparedRun is the heading of one run's column.
type ComparedRun struct {
	Name     string      `json:"name"`
	Phase    string      `json:"phase"`
	Pipeline string      `json:"pipeline"`
	Version  string      `json:"version"`
	Created  metav1.Time `json:"created"`
}

// Row is one parameter or metric across the runs: Values[i] is the i-th run's, nil when
// the run has none.
type Row struct {
	Name   string  `json:"name"`
	Values []*Cell `json:"values"`
	// Differs says the runs do not all have the same value.
	Differs bool `json:"differs"`
}

// Cell is one run's value.
type Cell struct {
	Value string `json:"value"`
	// Default says the run left the parameter out and its version's default applies.
	Default bool `json:"default,omitempty"`
}

// compareRuns answers GET /ui/compare/namespaces/{namespace}?run=A&run=B...: the runs'
// parameters (with their versions' defaults for those they leave out) side by side.
// Every read is the user's; a run they may not read fails the comparison, a version
// they may not read only leaves its defaults out.
func (h *Handler) compareRuns(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["run"]
	if len(names) < 2 || len(names) > maxCompared {
		writeStatus(w, apierrors.NewBadRequest(field.Invalid(field.NewPath("run"), names,
			fmt.Sprintf("name between 2 and %d runs to compare", maxCompared)).Error()))
		return
	}
	c, err := h.client(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	ns := r.PathValue("namespace")
	p := c.PipelinesV1beta1()
	runs := make([]*v1beta1.Run, len(names))
	metrics := make([][]metric, len(names))
	versions := map[string]*v1beta1.PipelineVersion{}
	for i, name := range names {
		run, err := p.Runs(ns).Get(r.Context(), name, metav1.GetOptions{})
		if err != nil {
			writeStatus(w, err)
			return
		}
		runs[i] = run
		metrics[i] = metricsOf(run)
		key := versionKey(runs[i])
		if _, seen := versions[key]; seen || runs[i].Status.PipelineVersion == "" {
			continue
		}
		vns := runs[i].Spec.PipelineRef.Namespace
		if vns == "" {
			vns = ns
		}
		v, err := p.PipelineVersions(vns).Get(r.Context(), runs[i].Status.PipelineVersion, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
			v = nil // gone or hidden: the runs' own values still compare
		case err != nil:
			writeStatus(w, err)
			return
		}
		versions[key] = v
	}
	writeJSON(w, http.StatusOK, compare(runs, metrics, versions))
}

// versionKey names the version a run was pinned to, across namespaces.
func versionKey(run *v1beta1.Run) string {
	return run.Spec.PipelineRef.Namespace + "/" + run.Status.PipelineVersion
}

// metric is one value a run's task reported.
type metric struct{ name, value string }

// metricsOf returns the values of the system.Metrics artifacts the KFP 2.x executor
// recorded for the run's steps, each named "task: metric" (with the artifact's name when
// the task wrote more than one metrics artifact).
func metricsOf(run *v1beta1.Run) []metric {
	var out []metric
	for _, step := range run.Status.Steps {
		withMetrics := 0
		for _, a := range step.OutputArtifacts {
			if len(a.Metrics) > 0 {
				withMetrics++
			}
		}
		for _, a := range step.OutputArtifacts {
			prefix := step.Name
			if withMetrics > 1 {
				prefix += " (" + a.Name + ")"
			}
			for _, m := range a.Metrics {
				out = append(out, metric{name: prefix + ": " + m.Name, value: m.Value})
			}
		}
	}
	return out
}

// compare lays the runs out side by side; metrics[i] are the i-th run's, versions the
// runs' pinned versions by versionKey (nil or absent when unknown).
func compare(runs []*v1beta1.Run, metrics [][]metric, versions map[string]*v1beta1.PipelineVersion) *Comparison {
	cmp := &Comparison{Runs: make([]ComparedRun, len(runs))}
	rows := map[string]*Row{}
	row := func(name string) *Row {
		if rows[name] == nil {
			rows[name] = &Row{Name: name, Values: make([]*Cell, len(runs))}
		}
		return rows[name]
	}
	for i, run := range runs {
		cmp.Runs[i] = ComparedRun{Name: run.Name, Phase: string(run.Status.Phase), Pipeline: run.Spec.PipelineRef.PipelineName,
			Version: run.Status.PipelineVersion, Created: run.CreationTimestamp}
		for _, p := range run.Spec.Parameters {
			row(p.Name).Values[i] = &Cell{Value: p.Value}
		}
		// A version re-created under the pinned name is not the run's: its defaults are not.
		if v := versions[versionKey(run)]; v != nil && (run.Status.PipelineVersionUID == "" || v.UID == run.Status.PipelineVersionUID) {
			for _, p := range v.Status.Parameters {
				if r := row(p.Name); r.Values[i] == nil && p.Default != nil {
					r.Values[i] = &Cell{Value: *p.Default, Default: true}
				}
			}
		}
	}
	cmp.Parameters = sorted(rows)
	rows = map[string]*Row{}
	for i := range runs {
		for _, m := range metrics[i] {
			row(m.name).Values[i] = &Cell{Value: m.value}
		}
	}
	cmp.Metrics = sorted(rows)
	if len(cmp.Metrics) == 0 {
		cmp.MetricsNote = "No metrics: none of these runs' tasks recorded a metrics artifact " +
			"(KFP 2.x components log them as system.Metrics)."
	}
	return cmp
}

// sorted returns the rows by name, each marked when its values differ.
func sorted(rows map[string]*Row) []Row {
	out := make([]Row, 0, len(rows))
	for _, name := range sortedKeys(rows) {
		r := rows[name]
		r.Differs = slices.ContainsFunc(r.Values, func(c *Cell) bool { return !sameCell(c, r.Values[0]) })
		out = append(out, *r)
	}
	return out
}

// sameCell says two values are the same: the same string, or the same number
// (a metric of 0.5 and 0.50).
func sameCell(a, b *Cell) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Value == b.Value {
		return true
	}
	x, errX := strconv.ParseFloat(a.Value, 64)
	y, errY := strconv.ParseFloat(b.Value, 64)
	return errX == nil && errY == nil && x == y
}
