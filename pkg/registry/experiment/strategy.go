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

// Package experiment serves experiments: groups of runs and jobs.
package experiment

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
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
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// Table is where experiments are stored, with the fields field selectors filter on.
var Table = mysqlstorage.Table{
	ResourcePrefix: "/pipelines.kubeflow.org/experiments",
	Name:           "experiments",
	Columns: []mysqlstorage.Column{
		{Field: "status.storageState", Name: "storage_state", Size: 16},
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

// GetResetFields: status is written only through the status and action subresources.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return status.ResetStatus()
}

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	e := obj.(*pipelines.Experiment)
	e.Status = pipelines.ExperimentStatus{StorageState: pipelines.StorageStateAvailable}
	e.Generation = 1
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	e, oldE := obj.(*pipelines.Experiment), old.(*pipelines.Experiment)
	e.Status = oldE.Status
	if !apiequality.Semantic.DeepEqual(e.Spec, oldE.Spec) {
		e.Generation = oldE.Generation + 1
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateExperiment(obj.(*pipelines.Experiment))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateExperimentUpdate(obj.(*pipelines.Experiment), old.(*pipelines.Experiment))
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
	n, o := obj.(*pipelines.Experiment), old.(*pipelines.Experiment)
	n.Spec = o.Spec
	status.KeepMetadata(&n.ObjectMeta, &o.ObjectMeta)
}

// GetAttrs returns the labels and the selectable fields.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	e, ok := obj.(*pipelines.Experiment)
	if !ok {
		return nil, nil, fmt.Errorf("not an Experiment: %T", obj)
	}
	fs := generic.ObjectMetaFieldsSet(&e.ObjectMeta, true)
	fs["status.storageState"] = string(e.Status.StorageState)
	return e.Labels, fs, nil
}

// Match selects experiments by labels and fields.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
