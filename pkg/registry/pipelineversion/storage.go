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

package pipelineversion

import (
	"context"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/klog/v2"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/createhook"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/owner"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/table"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/workflow/policy"
)

// REST serves pipeline versions.
type REST struct {
	*genericregistry.Store
	pipelines      rest.Getter
	pipelineStatus rest.Updater
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider; "pv" is PersistentVolume's.
func (*REST) ShortNames() []string { return []string{"kfpplv"} }

// Categories implements rest.CategoriesProvider: `kubectl get kfp` lists everything.
func (*REST) Categories() []string { return []string{"kfp"} }

// NewREST returns the pipeline versions store and its status subresource. Versions
// belong to the pipelines that pipelineStore serves; their creation and deletion keep
// the pipeline's status (latest version, count) current through pipelineStatus.
func NewREST(scheme *runtime.Scheme, getter generic.RESTOptionsGetter, pipelineStore rest.Getter,
	pipelineStatus rest.Updater, wfPolicy policy.Policy) (*REST, *status.REST, error) {
	s := newStrategy(scheme, wfPolicy)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &pipelines.PipelineVersion{} },
		NewListFunc:               func() runtime.Object { return &pipelines.PipelineVersionList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  pipelines.Resource("pipelineversions"),
		SingularQualifiedResource: pipelines.Resource("pipelineversion"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	r := &REST{Store: store, pipelines: pipelineStore, pipelineStatus: pipelineStatus}
	return r, status.NewREST(store, statusStrategy{s}), nil
}

// Create checks that the pipeline exists, makes it the version's owner, and then
// records the new version in the pipeline's status.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc,
	options *metav1.CreateOptions) (runtime.Object, error) {
	if err := r.prepareCreate(ctx, obj); err != nil {
		return nil, err
	}
	out, err := r.Store.Create(ctx, obj, createValidation, options)
	if err != nil || dryrun.IsDryRun(options.DryRun) {
		return out, err
	}
	r.refreshPipeline(ctx, obj.(*pipelines.PipelineVersion).Spec.PipelineName)
	return out, nil
}

// Update runs the create checks too when it creates (server-side apply of a new version).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	out, created, err := r.Store.Update(ctx, name, createhook.Wrap(objInfo, r.prepareCreate), createValidation,
		updateValidation, forceAllowCreate, options)
	if err == nil && created && !dryrun.IsDryRun(options.DryRun) {
		r.refreshPipeline(ctx, out.(*pipelines.PipelineVersion).Spec.PipelineName)
	}
	return out, created, err
}

func (r *REST) prepareCreate(ctx context.Context, obj runtime.Object) error {
	v := obj.(*pipelines.PipelineVersion)
	name := v.Spec.PipelineName
	if !validName(name) {
		return nil // validation names the field
	}
	p, err := r.pipelines.Get(ctx, name, &metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return apierrors.NewInvalid(pipelines.Kind("PipelineVersion"), v.Name, field.ErrorList{
			field.NotFound(field.NewPath("spec", "pipelineName"), name)})
	case err != nil:
		return err
	}
	owner.Set(v, p.(*pipelines.Pipeline), "Pipeline")
	return nil
}

// Delete deletes a version and updates its pipeline's status. The version is read
// first: the store may answer a delete with a Status instead of the object.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	current, err := r.Store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	obj, deleted, err := r.Store.Delete(ctx, name, deleteValidation, options)
	if err != nil || dryrun.IsDryRun(options.DryRun) {
		return obj, deleted, err
	}
	r.refreshPipeline(ctx, current.(*pipelines.PipelineVersion).Spec.PipelineName)
	return obj, deleted, nil
}

// refreshPipeline sets a pipeline's latest version and version count from its versions.
// The versions are listed inside the pipeline's update, so a conflicting concurrent
// refresh retries with a newer list and the last write is never stale. A failure is
// logged, not returned: the version was already created or deleted.
func (r *REST) refreshPipeline(ctx context.Context, name string) {
	update := action.UpdateFunc(func(ctx context.Context, old runtime.Object) (runtime.Object, error) {
		p := old.(*pipelines.Pipeline).DeepCopy()
		list, err := r.Store.List(ctx, &metainternalversion.ListOptions{
			FieldSelector: fields.OneTermEqualSelector(PipelineNameField, name)})
		if err != nil {
			return nil, err
		}
		latest, count := latestVersion(list.(*pipelines.PipelineVersionList).Items)
		p.Status.LatestVersion, p.Status.VersionCount = latest, count
		return p, nil
	})
	_, _, err := r.pipelineStatus.Update(ctx, name, update, nil, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Updating the pipeline's latest version", "pipeline", name)
	}
}

// latestVersion returns the newest of versions (by creation, then revision) and how
// many are not being deleted.
func latestVersion(versions []pipelines.PipelineVersion) (string, int32) {
	var latest *pipelines.PipelineVersion
	var count int32
	for i := range versions {
		v := &versions[i]
		if v.DeletionTimestamp != nil {
			continue
		}
		count++
		if latest == nil || newer(v, latest) {
			latest = v
		}
	}
	if latest == nil {
		return "", 0
	}
	return latest.Name, count
}

func newer(a, b *pipelines.PipelineVersion) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	ra, _ := strconv.ParseInt(a.ResourceVersion, 10, 64)
	rb, _ := strconv.ParseInt(b.ResourceVersion, 10, 64)
	return ra > rb
}

var tableConvertor = table.Convertor{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Pipeline", Type: "string", Description: "The pipeline this is a version of."},
		{Name: "Parameters", Type: "integer", Description: "How many input parameters the pipeline declares."},
		{Name: "Description", Type: "string", Priority: 1, Description: "What changed in this version."},
	},
	Cells: func(obj runtime.Object) []interface{} {
		v := obj.(*pipelines.PipelineVersion)
		return []interface{}{v.Spec.PipelineName, int64(len(v.Status.Parameters)), v.Spec.Description}
	},
}
