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

package run

import (
	"context"
	"errors"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/createhook"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/experiment"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipelineversion"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/serviceaccount"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/table"
)

// REST serves runs.
type REST struct {
	*genericregistry.Store
	experiments rest.Getter
	resolver    *pipelineversion.Resolver
	// authz decides whether the caller may use the service account the pods run as.
	authz authorizer.Authorizer
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider.
func (*REST) ShortNames() []string { return []string{"kfprun"} }

// Categories implements rest.CategoriesProvider: `kubectl get kfp` lists everything.
func (*REST) Categories() []string { return []string{"kfp"} }

// NewREST returns the runs store and its status subresource. Runs belong to the
// experiments experiments serves and run the versions resolver finds.
func NewREST(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, experiments rest.Getter,
	resolver *pipelineversion.Resolver) (*REST, *status.REST, error) {
	s := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &pipelines.Run{} },
		NewListFunc:               func() runtime.Object { return &pipelines.RunList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  pipelines.Resource("runs"),
		SingularQualifiedResource: pipelines.Resource("run"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	r := &REST{Store: store, experiments: experiments, resolver: resolver, authz: resolver.Authorizer}
	return r, status.NewREST(store, statusStrategy{s}), nil
}

// Create checks the run's experiment and pipeline, pins the pipeline version in the
// run's status and makes the experiment the run's owner.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc,
	options *metav1.CreateOptions) (runtime.Object, error) {
	if err := r.prepareCreate(ctx, obj); err != nil {
		return nil, err
	}
	return r.Store.Create(ctx, obj, createValidation, options)
}

// Update runs the create checks too when it creates (server-side apply of a new run).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, createhook.Wrap(objInfo, r.prepareCreate), createValidation, updateValidation,
		forceAllowCreate, options)
}

func (r *REST) prepareCreate(ctx context.Context, obj runtime.Object) error {
	run := obj.(*pipelines.Run)
	if err := serviceaccount.Authorize(ctx, r.authz, run.Spec.ServiceAccountName); err != nil {
		return err
	}
	spec := field.NewPath("spec")
	errs, err := experiment.Own(ctx, r.experiments, run, run.Spec.ExperimentName, spec.Child("experimentName"))
	if err != nil {
		return err
	}
	v, verrs, err := r.resolver.Resolve(ctx, run.Spec.PipelineRef, spec.Child("pipelineRef"))
	if err != nil {
		return err
	}
	errs = append(errs, verrs...)
	run.Status.PipelineVersion, run.Status.PipelineVersionUID = "", ""
	if v != nil {
		run.Status.PipelineVersion, run.Status.PipelineVersionUID = v.Name, v.UID
		errs = append(errs, pipelineversion.CheckParameters(v, run.Spec.Parameters, spec.Child("parameters"))...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(pipelines.Kind("Run"), run.Name, errs)
	}
	return nil
}

// Delete deletes a run as the propagation policy asks for what it owns, its Argo
// Workflow in kube-apiserver, which names the run as its controlling owner: foreground,
// the run keeps the foregroundDeletion finalizer until the garbage collector has deleted
// the workflow; orphan, the orphan finalizer until the collector has removed the
// workflow's reference to it. A run without a workflow owns nothing, so it goes at once:
// a cluster without a collector on this API still deletes such runs.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, deleted, err := r.Store.Delete(ctx, name, deleteValidation, options)
	if err != nil || deleted || (options != nil && dryrun.IsDryRun(options.DryRun)) {
		return obj, deleted, err
	}
	run, ok := obj.(*pipelines.Run)
	if !ok || run.DeletionTimestamp == nil || run.Status.WorkflowName != "" {
		return obj, false, nil
	}
	uid := run.UID
	gone := false
	out, err := action.Update(ctx, r.Store, name, func(obj runtime.Object) error {
		run := obj.(*pipelines.Run)
		if run.UID != uid || run.Status.WorkflowName != "" {
			return errOwnsAWorkflow
		}
		run.Finalizers = slices.DeleteFunc(run.Finalizers, func(f string) bool {
			return f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents
		})
		gone = len(run.Finalizers) == 0
		return nil
	})
	switch {
	case errors.Is(err, errOwnsAWorkflow) || apierrors.IsNotFound(err):
		// Replaced, given a workflow meanwhile (the collector finishes it) or gone already.
		return obj, false, nil
	case err != nil:
		return nil, false, err
	}
	return out, gone, nil
}

// errOwnsAWorkflow says that a run being deleted got a workflow, which the collector
// must delete or orphan before the run goes.
var errOwnsAWorkflow = errors.New("the run owns a workflow")

var tableConvertor = table.Convertor{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Experiment", Type: "string", Description: "The experiment the run belongs to."},
		{Name: "Pipeline", Type: "string", Description: "The pipeline it runs."},
		{Name: "Phase", Type: "string", Description: "Where the run is in its life."},
		{Name: "Started", Type: "string", Description: "How long ago the run started."},
		{Name: "Duration", Type: "string", Description: "How long the run ran, or has been running."},
		{Name: "Version", Type: "string", Priority: 1, Description: "The pipeline version pinned at creation."},
		{Name: "State", Type: "string", Priority: 1, Description: "Available or Archived."},
	},
	Cells: func(obj runtime.Object) []interface{} {
		r := obj.(*pipelines.Run)
		return []interface{}{r.Spec.ExperimentName, r.Spec.PipelineRef.PipelineName, string(r.Status.Phase),
			table.SinceP(r.Status.StartTime), runDuration(r.Status), r.Status.PipelineVersion, string(r.Status.StorageState)}
	},
}

// runDuration is how long a run ran, or has been running; "" before it starts.
func runDuration(s pipelines.RunStatus) string {
	if s.StartTime == nil {
		return ""
	}
	end := time.Now()
	if s.CompletionTime != nil {
		end = s.CompletionTime.Time
	}
	return duration.HumanDuration(end.Sub(s.StartTime.Time))
}
