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

// Package run serves runs: executions of a pipeline version.
package run

import (
	"context"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
	PhaseField          = "status.phase"
	StorageStateField   = "status.storageState"
	// FinishedField is "true" for a run in one of FinishedPhases, else "false": the
	// controllers select the runs in flight by it, through its index.
	FinishedField = "status.finished"
)

// The UIDs of a run's owners: its experiment and the job that created it.
var (
	ExperimentUIDField = owner.Field("Experiment")
	JobUIDField        = owner.Field("Job")
)

// Table is where runs are stored, with the fields field selectors filter on.
var Table = mysqlstorage.Table{
	ResourcePrefix: "/pipelines.kubeflow.org/runs",
	Name:           "runs",
	Columns: []mysqlstorage.Column{
		{Field: ExperimentNameField, Name: "experiment", Size: 253},
		{Field: PipelineNameField, Name: "pipeline", Size: 253},
		{Field: PhaseField, Name: "phase", Size: 16},
		{Field: StorageStateField, Name: "storage_state", Size: 16},
		{Field: FinishedField, Name: "finished", Size: 5},
		{Field: ExperimentUIDField, Name: "owner_experiment", Size: owner.UIDSize},
		{Field: JobUIDField, Name: "owner_job", Size: owner.UIDSize},
		{Field: NewestInNamespaceField, Name: "newest_ns", Size: 63 + 1 + newestSize},
		{Field: NewestInExperimentField, Name: "newest_exp", Size: 63 + 1 + 253 + 1 + newestSize},
		{Field: AvailableSinceField, Name: "available_since", Size: retentionColumnSize},
		{Field: ArchivedSinceField, Name: "archived_since", Size: retentionColumnSize},
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

// GetResetFields: status is written by the server and the executor.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set { return status.ResetStatus() }

// PrepareForCreate starts the run Pending. The pinned version, its name and UID, was
// resolved by REST.Create, which overwrites whatever the caller sent.
func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	r := obj.(*pipelines.Run)
	r.Status = pipelines.RunStatus{
		Phase:              pipelines.RunPhasePending,
		StorageState:       pipelines.StorageStateAvailable,
		PipelineVersion:    r.Status.PipelineVersion,
		PipelineVersionUID: r.Status.PipelineVersionUID,
	}
	r.Generation = 1
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*pipelines.Run).Status = old.(*pipelines.Run).Status
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateRun(obj.(*pipelines.Run))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// ValidateUpdate keeps the spec as it was created: a run is a record of what ran.
func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateRunUpdate(obj.(*pipelines.Run), old.(*pipelines.Run))
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// statusStrategy is the status subresource's: it changes status and nothing else,
// neither metadata nor spec.
type statusStrategy struct{ strategy }

func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return status.ResetMetadataAndSpec()
}

func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	n, o := obj.(*pipelines.Run), old.(*pipelines.Run)
	n.Spec = o.Spec
	status.KeepMetadata(&n.ObjectMeta, &o.ObjectMeta)
}

// GetAttrs returns the labels and the selectable fields.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	r, ok := obj.(*pipelines.Run)
	if !ok {
		return nil, nil, fmt.Errorf("not a Run: %T", obj)
	}
	fs := generic.ObjectMetaFieldsSet(&r.ObjectMeta, true)
	fs[ExperimentNameField] = r.Spec.ExperimentName
	fs[PipelineNameField] = r.Spec.PipelineRef.PipelineName
	fs[PhaseField] = string(r.Status.Phase)
	fs[StorageStateField] = string(r.Status.StorageState)
	fs[FinishedField] = strconv.FormatBool(FinishedPhases.Has(r.Status.Phase))
	fs[ExperimentUIDField] = owner.UID(r, "Experiment")
	fs[JobUIDField] = owner.UID(r, "Job")
	fs[NewestInNamespaceField], fs[NewestInExperimentField] = NewestFirst(r.Namespace, r.Spec.ExperimentName, r.CreationTimestamp.Time)
	fs[AvailableSinceField], fs[ArchivedSinceField] = RetentionFields(r)
	return r.Labels, fs, nil
}

// Match selects runs by labels and fields.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
