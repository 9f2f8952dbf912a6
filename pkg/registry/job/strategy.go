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

// Package job serves jobs: recurring runs, created on a schedule.
package job

import (
	"context"
	"fmt"
	"slices"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/owner"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// Selectable fields, each stored in an indexed column.
const (
	ExperimentNameField = "spec.experimentName"
	PipelineNameField   = "spec.pipelineRef.pipelineName"
)

// ExperimentUIDField holds the UID of the job's experiment, its owner.
var ExperimentUIDField = owner.Field("Experiment")

// Table is where jobs are stored, with the fields field selectors filter on.
var Table = mysqlstorage.Table{
	ResourcePrefix: "/pipelines.kubeflow.org/jobs",
	Name:           "jobs",
	Columns: []mysqlstorage.Column{
		{Field: ExperimentNameField, Name: "experiment", Size: 253},
		{Field: PipelineNameField, Name: "pipeline", Size: 253},
		{Field: ExperimentUIDField, Name: "owner_experiment", Size: owner.UIDSize},
	},
}

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func newStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields: status is written by the scheduler.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set { return status.ResetStatus() }

// PrepareForCreate records the caller as the job's author: its runs are created in
// their name.
func (strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	j := obj.(*pipelines.Job)
	j.Status = pipelines.JobStatus{Author: authorFrom(ctx)}
	j.Generation = 1
}

// PrepareForUpdate counts spec changes in the generation (the scheduler acts on each)
// and makes the caller the author of a changed spec.
func (strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	j, oldJ := obj.(*pipelines.Job), old.(*pipelines.Job)
	j.Status = oldJ.Status
	if !apiequality.Semantic.DeepEqual(j.Spec, oldJ.Spec) {
		j.Generation = oldJ.Generation + 1
	}
	if AuthoredChange(&j.Spec, &oldJ.Spec) {
		j.Status.Author = authorFrom(ctx)
	}
}

// AuthoredChange says whether new differs from old in more than spec.enabled: such a
// change is checked as a create is and makes its caller the author. Enabling or
// disabling changes neither what runs nor in whose name (jobs/enable, jobs/disable and
// experiments/archive are their own permissions), so it keeps the author.
func AuthoredChange(new, old *pipelines.JobSpec) bool {
	a, b := *new, *old
	a.Enabled, b.Enabled = nil, nil
	return !apiequality.Semantic.DeepEqual(a, b)
}

// authorFrom is the request's user, or nil when there is none (the scheduler then
// refuses to run the job).
func authorFrom(ctx context.Context) *pipelines.Author {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil
	}
	a := &pipelines.Author{Username: u.GetName(), UID: u.GetUID(), Groups: slices.Clone(u.GetGroups())}
	for k, v := range u.GetExtra() {
		if a.Extra == nil {
			a.Extra = map[string]pipelines.ExtraValue{}
		}
		a.Extra[k] = slices.Clone(v)
	}
	return a
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateJob(obj.(*pipelines.Job))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateJobUpdate(obj.(*pipelines.Job), old.(*pipelines.Job))
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// statusStrategy is the status subresource's: it changes status and nothing else,
// neither metadata nor spec.
type statusStrategy struct{ strategy }

// GetResetFields: status/author is the main strategy's, like spec.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	fields := status.ResetMetadataAndSpec()
	for _, set := range fields {
		set.Insert(fieldpath.MakePathOrDie("status", "author"))
	}
	return fields
}

// PrepareForUpdate keeps the spec and the author: only the main strategy writes the
// author, from the request's user.
func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	n, o := obj.(*pipelines.Job), old.(*pipelines.Job)
	n.Spec = o.Spec
	n.Status.Author = o.Status.Author
	status.KeepMetadata(&n.ObjectMeta, &o.ObjectMeta)
}

// GetAttrs returns the labels and the selectable fields.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	r, ok := obj.(*pipelines.Job)
	if !ok {
		return nil, nil, fmt.Errorf("not a Job: %T", obj)
	}
	fs := generic.ObjectMetaFieldsSet(&r.ObjectMeta, true)
	fs[ExperimentNameField] = r.Spec.ExperimentName
	fs[PipelineNameField] = r.Spec.PipelineRef.PipelineName
	fs[ExperimentUIDField] = owner.UID(r, "Experiment")
	return r.Labels, fs, nil
}

// Match selects jobs by labels and fields.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
