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

package pipeline

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/cascade"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/status"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/table"
)

// REST serves pipelines.
type REST struct {
	*genericregistry.Store
	// Cascade carries a delete's propagation policy to the pipeline's versions, which
	// the registry adds once their store exists, since each refers to the other.
	Cascade *cascade.Owner
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames implements rest.ShortNamesProvider.
func (*REST) ShortNames() []string { return []string{"kfppl"} }

// Categories implements rest.CategoriesProvider: `kubectl get kfp` lists everything.
func (*REST) Categories() []string { return []string{"kfp"} }

// NewREST returns the pipelines store and its status subresource.
func NewREST(scheme *runtime.Scheme, getter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &pipelines.Pipeline{} },
		NewListFunc:               func() runtime.Object { return &pipelines.PipelineList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  pipelines.Resource("pipelines"),
		SingularQualifiedResource: pipelines.Resource("pipeline"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor,
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: GetAttrs}); err != nil {
		return nil, nil, err
	}
	return &REST{Store: store, Cascade: cascade.New("Pipeline", store)}, status.NewREST(store, statusStrategy{s}), nil
}

// Delete deletes the pipeline, and its versions as options say.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc,
	options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return r.Cascade.Delete(ctx, name, deleteValidation, options)
}

var tableConvertor = table.Convertor{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Display Name", Type: "string", Description: "The pipeline's human-readable name."},
		{Name: "Latest Version", Type: "string", Description: "The newest version, which runs use unless they name one."},
		{Name: "Versions", Type: "integer", Description: "How many versions the pipeline has."},
	},
	Cells: func(obj runtime.Object) []interface{} {
		p := obj.(*pipelines.Pipeline)
		return []interface{}{p.Spec.DisplayName, p.Status.LatestVersion, int64(p.Status.VersionCount)}
	},
}
