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

// Package pipeline serves pipelines: named pipelines whose executable definitions are
// their versions.
package pipeline

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

// Table is where pipelines are stored.
var Table = mysqlstorage.Table{
	ResourcePrefix: "/pipelines.kubeflow.org/pipelines",
	Name:           "pipelines",
}

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func newStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields: status is written by the server and through the status subresource.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set { return status.ResetStatus() }

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	p := obj.(*pipelines.Pipeline)
	p.Status = pipelines.PipelineStatus{}
	p.Generation = 1
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	p, oldP := obj.(*pipelines.Pipeline), old.(*pipelines.Pipeline)
	p.Status = oldP.Status
	if !apiequality.Semantic.DeepEqual(p.Spec, oldP.Spec) {
		p.Generation = oldP.Generation + 1
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidatePipeline(obj.(*pipelines.Pipeline))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePipelineUpdate(obj.(*pipelines.Pipeline), old.(*pipelines.Pipeline))
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
	n, o := obj.(*pipelines.Pipeline), old.(*pipelines.Pipeline)
	n.Spec = o.Spec
	status.KeepMetadata(&n.ObjectMeta, &o.ObjectMeta)
}

// GetAttrs returns the labels and the selectable fields.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*pipelines.Pipeline)
	if !ok {
		return nil, nil, fmt.Errorf("not a Pipeline: %T", obj)
	}
	return p.Labels, generic.ObjectMetaFieldsSet(&p.ObjectMeta, true), nil
}

// Match selects pipelines by labels and fields.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
