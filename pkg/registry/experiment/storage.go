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

package experiment

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/cascade"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/owner"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/table"
)

// REST serves experiments.
type REST struct {
	*genericregistry.Store
	// Cascade carries a delete's propagation policy to the experiment's runs and jobs,
	// which the registry adds once their stores exist, since those refer to this one.
	Cascade *cascade.Owner
	// OnArchive archive what the experiment holds when it is archived: its runs and
	// jobs. Set by the registry, like Owned.
	OnArchive []func(ctx context.Context, experiment string) error
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider; "exp" is taken by Katib.
func (*REST) ShortNames() []string { return []string{"kfpexp"} }

// Categories implements rest.CategoriesProvider: `kubectl get kfp` lists everything.
func (*REST) Categories() []string { return []string{"kfp"} }

// NewREST returns the experiments store and its status subresource.
func NewREST(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &pipelines.Experiment{} },
		NewListFunc:               func() runtime.Object { return &pipelines.ExperimentList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  pipelines.Resource("experiments"),
		SingularQualifiedResource: pipelines.Resource("experiment"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	return &REST{Store: store, Cascade: cascade.New("Experiment", store)}, status.NewREST(store, statusStrategy{s}), nil
}

// Delete deletes the experiment, and its runs and jobs as options say.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return r.Cascade.Delete(ctx, name, deleteValidation, options)
}

var tableConvertor = table.Convertor{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Display Name", Type: "string", Description: "The experiment's human-readable name."},
		{Name: "State", Type: "string", Description: "Available or Archived."},
	},
	Cells: func(obj runtime.Object) []interface{} {
		e := obj.(*pipelines.Experiment)
		return []interface{}{e.Spec.DisplayName, string(e.Status.StorageState)}
	},
}

// Own looks up the experiment called name in the namespace of ctx and makes it an
// owner of obj, a run or a job. A missing experiment is a field error on fldPath.
func Own(ctx context.Context, experiments rest.Getter, obj metav1.Object, name string, fldPath *field.Path) (field.ErrorList, error) {
	if name == "" || len(content.IsPathSegmentName(name)) > 0 {
		return nil, nil // validation names the field
	}
	e, err := experiments.Get(ctx, name, &metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return field.ErrorList{field.NotFound(fldPath, name)}, nil
	}
	if err != nil {
		return nil, err
	}
	owner.Set(obj, e.(*pipelines.Experiment), "Experiment")
	return nil, nil
}
