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

package job

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/cascade"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/createhook"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/experiment"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/pipelineversion"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/serviceaccount"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/table"
)

// REST serves jobs.
type REST struct {
	*genericregistry.Store
	experiments rest.Getter
	resolver    *pipelineversion.Resolver
	// Cascade carries a delete's propagation policy to the runs the job created, which
	// the registry adds once their store exists.
	Cascade *cascade.Owner
	// authz decides whether the caller may use the service account the pods run as.
	authz authorizer.Authorizer
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider; "job" is batch's.
func (*REST) ShortNames() []string { return []string{"kfpjob"} }

// Categories implements rest.CategoriesProvider: `kubectl get kfp` lists everything.
func (*REST) Categories() []string { return []string{"kfp"} }

// NewREST returns the jobs store and its status subresource.
func NewREST(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, experiments rest.Getter,
	resolver *pipelineversion.Resolver) (*REST, *status.REST, error) {
	s := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &pipelines.Job{} },
		NewListFunc:               func() runtime.Object { return &pipelines.JobList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  pipelines.Resource("jobs"),
		SingularQualifiedResource: pipelines.Resource("job"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	r := &REST{Store: store, experiments: experiments, resolver: resolver, Cascade: cascade.New("Job", store), authz: resolver.Authorizer}
	return r, status.NewREST(store, statusStrategy{s}), nil
}

// Delete deletes the job, and the runs it created as options say.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return r.Cascade.Delete(ctx, name, deleteValidation, options)
}

// Create checks the job's experiment and pipeline and makes the experiment the job's
// owner. The version is not pinned: without a versionName each run takes the
// pipeline's latest version when it is created.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc,
	options *metav1.CreateOptions) (runtime.Object, error) {
	if err := r.prepareCreate(ctx, obj); err != nil {
		return nil, err
	}
	return r.Store.Create(ctx, obj, createValidation, options)
}

// Update runs the create checks, with the caller's identity, when it creates (server-side
// apply of a new job) and when it changes the spec other than spec.enabled: the caller
// becomes the job's author (see the strategy), so they must be allowed what a creator is.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, createhook.WrapChanges(objInfo, r.prepareCreate, authoredChange), createValidation,
		updateValidation, forceAllowCreate, options)
}

func authoredChange(obj, old runtime.Object) bool {
	return AuthoredChange(&obj.(*pipelines.Job).Spec, &old.(*pipelines.Job).Spec)
}

func (r *REST) prepareCreate(ctx context.Context, obj runtime.Object) error {
	j := obj.(*pipelines.Job)
	if err := serviceaccount.Authorize(ctx, r.authz, j.Spec.ServiceAccountName); err != nil {
		return err
	}
	spec := field.NewPath("spec")
	errs, err := experiment.Own(ctx, r.experiments, j, j.Spec.ExperimentName, spec.Child("experimentName"))
	if err != nil {
		return err
	}
	v, verrs, err := r.resolver.Resolve(ctx, j.Spec.PipelineRef, spec.Child("pipelineRef"))
	if err != nil {
		return err
	}
	errs = append(errs, verrs...)
	if v != nil {
		errs = append(errs, pipelineversion.CheckParameters(v, j.Spec.Parameters, spec.Child("parameters"))...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(pipelines.Kind("Job"), j.Name, errs)
	}
	return nil
}

var tableConvertor = table.Convertor{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Experiment", Type: "string", Description: "The experiment the job's runs belong to."},
		{Name: "Pipeline", Type: "string", Description: "The pipeline it runs."},
		{Name: "Schedule", Type: "string", Description: "A cron expression or an interval."},
		{Name: "Enabled", Type: "boolean", Description: "Whether the job creates runs."},
		{Name: "Last Schedule", Type: "string", Description: "How long ago the job last created a run."},
		{Name: "Active", Type: "integer", Priority: 1, Description: "How many of its runs have not finished."},
	},
	Cells: func(obj runtime.Object) []interface{} {
		j := obj.(*pipelines.Job)
		return []interface{}{j.Spec.ExperimentName, j.Spec.PipelineRef.PipelineName, schedule(j.Spec.Schedule),
			j.Spec.Enabled != nil && *j.Spec.Enabled, table.SinceP(j.Status.LastScheduleTime), int64(len(j.Status.Active))}
	},
}

func schedule(s pipelines.Schedule) string {
	if s.Cron != "" {
		return s.Cron
	}
	return fmt.Sprintf("every %ss", strconv.FormatInt(s.IntervalSeconds, 10))
}
