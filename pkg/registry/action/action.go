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

// Package action serves the subresources that are verbs rather than data: archive,
// terminate, retry, enable and the like. Each is a POST with an empty body that
// changes its object and returns it, authorized as verb "create" on its own
// subresource, so a Role can grant each action alone.
package action

import (
	"context"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Func carries out an action on the object called name, in the namespace of ctx, and
// returns the changed object.
type Func func(ctx context.Context, name string) (runtime.Object, error)

// REST serves one action.
type REST struct {
	newFunc func() runtime.Object
	do      Func
}

var _ rest.Connecter = &REST{}

// New returns the action subresource of a resource whose objects newFunc makes.
func New(newFunc func() runtime.Object, do Func) *REST {
	return &REST{newFunc: newFunc, do: do}
}

// New implements rest.Storage: an action returns its object.
func (r *REST) New() runtime.Object { return r.newFunc() }

// Destroy implements rest.Storage.
func (r *REST) Destroy() {}

// ConnectMethods implements rest.Connecter: actions are POSTs.
func (r *REST) ConnectMethods() []string { return []string{http.MethodPost} }

// NewConnectOptions implements rest.Connecter: actions take no options.
func (r *REST) NewConnectOptions() (runtime.Object, bool, string) { return nil, false, "" }

// Connect implements rest.Connecter.
func (r *REST) Connect(ctx context.Context, name string, _ runtime.Object, responder rest.Responder) (http.Handler, error) {
	return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		obj, err := r.do(ctx, name)
		if err != nil {
			responder.Error(err)
			return
		}
		responder.Object(http.StatusOK, obj)
	}), nil
}

// Update changes the object called name with change, through updater (a store or a
// status subresource), retrying on conflicts with the current object.
func Update(ctx context.Context, updater rest.Updater, name string, change func(obj runtime.Object) error) (runtime.Object, error) {
	obj, _, err := updater.Update(ctx, name, UpdateFunc(func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		obj := old.DeepCopyObject()
		if err := change(obj); err != nil {
			return nil, err
		}
		return obj, nil
	}), nil, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	return obj, err
}

// UpdateFunc is a rest.UpdatedObjectInfo that computes the new object from the current one.
type UpdateFunc func(ctx context.Context, old runtime.Object) (runtime.Object, error)

// Preconditions implements rest.UpdatedObjectInfo.
func (f UpdateFunc) Preconditions() *metav1.Preconditions { return nil }

// UpdatedObject implements rest.UpdatedObjectInfo.
func (f UpdateFunc) UpdatedObject(ctx context.Context, old runtime.Object) (runtime.Object, error) {
	return f(ctx, old)
}
