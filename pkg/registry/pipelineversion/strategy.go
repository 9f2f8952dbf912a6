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

// Package pipelineversion serves pipeline versions: the immutable, executable
// definitions of a pipeline, and resolves the versions runs and jobs refer to.
package pipelineversion

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines/validation"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/pipelinespec"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/owner"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// PipelineNameField selects a pipeline's versions.
const PipelineNameField = "spec.pipelineName"

// PipelineUIDField holds the UID of the version's pipeline, its owner.
var PipelineUIDField = owner.Field("Pipeline")

// Table is where pipeline versions are stored, with the fields field selectors filter on.
var Table = mysqlstorage.Table{
	ResourcePrefix: "/pipelines.kubeflow.org/pipelineversions",
	Name:           "pipeline_versions",
	Columns: []mysqlstorage.Column{
		{Field: PipelineNameField, Name: "pipeline", Size: 253},
		{Field: PipelineUIDField, Name: "owner_pipeline", Size: owner.UIDSize},
	},
}

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	// policy decides what the workflow's pods may do beyond what any pod may.
	policy policy.Policy
}

func newStrategy(typer runtime.ObjectTyper, p policy.Policy) strategy {
	return strategy{typer, names.SimpleNameGenerator, p}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields: status is derived by the server.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set { return status.ResetStatus() }

// PrepareForCreate derives the status from the definition: its inputs.
func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	v := obj.(*pipelines.PipelineVersion)
	v.Status = pipelines.PipelineVersionStatus{}
	v.Generation = 1
	v.Status.Parameters = Inputs(&v.Spec)
}

// Inputs lists the inputs a definition declares. One that does not parse declares
// none; validation rejects it.
func Inputs(spec *pipelines.PipelineVersionSpec) []pipelines.Parameter {
	var params []pipelines.Parameter
	if len(spec.PipelineSpec.Raw) > 0 {
		if ir, errs := pipelinespec.Parse(spec.PipelineSpec.Raw, nil); len(errs) == 0 {
			for _, in := range ir.Inputs() {
				params = append(params, pipelines.Parameter{Name: in.Name, Default: in.Default, Type: string(in.Type), Optional: in.Optional})
			}
		}
		return params
	}
	if wf, errs := workflow.Parse(spec.Workflow.Raw, nil); len(errs) == 0 {
		for _, p := range wf.Spec.Arguments.Parameters {
			params = append(params, pipelines.Parameter{Name: p.Name, Default: p.Value, Optional: p.Value != nil})
		}
	}
	return params
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*pipelines.PipelineVersion).Status = old.(*pipelines.PipelineVersion).Status
}

func (s strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	v := obj.(*pipelines.PipelineVersion)
	errs := validation.ValidatePipelineVersion(v)
	if len(errs) > 0 {
		return errs
	}
	if len(v.Spec.Workflow.Raw) == 0 {
		// A pipeline IR: the workflow its runs get is this server's compilation, which
		// the executor checks against the policy before creating it.
		return nil
	}
	// Validation parsed it; the policy reads it as Argo will, as generic JSON.
	wf := map[string]interface{}{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(v.Spec.Workflow.Raw, &wf); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "workflow"), field.OmitValueType{}, err.Error())}
	}
	return s.policy.Check(wf, field.NewPath("spec", "workflow"))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

// DefaultGarbageCollectionPolicy: Versions own nothing in this API, so a delete never waits
// on a foregroundDeletion or orphan finalizer; whatever propagation the caller asks
// for, the object goes at once (what other APIs hold that names it, such as a run's
// Argo Workflow, goes after it, by its own controller or a garbage collector).
func (strategy) DefaultGarbageCollectionPolicy(context.Context) rest.GarbageCollectionPolicy {
	return rest.Unsupported
}

// ValidateUpdate keeps the spec as it was created: runs pin versions.
func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePipelineVersionUpdate(obj.(*pipelines.PipelineVersion), old.(*pipelines.PipelineVersion))
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
	n, o := obj.(*pipelines.PipelineVersion), old.(*pipelines.PipelineVersion)
	n.Spec = o.Spec
	status.KeepMetadata(&n.ObjectMeta, &o.ObjectMeta)
}

// GetAttrs returns the labels and the selectable fields.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	v, ok := obj.(*pipelines.PipelineVersion)
	if !ok {
		return nil, nil, fmt.Errorf("not a PipelineVersion: %T", obj)
	}
	fs := generic.ObjectMetaFieldsSet(&v.ObjectMeta, true)
	fs[PipelineNameField] = v.Spec.PipelineName
	fs[PipelineUIDField] = owner.UID(v, "Pipeline")
	return v.Labels, fs, nil
}

// Match selects pipeline versions by labels and fields.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
