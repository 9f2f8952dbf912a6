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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
)

// Actions returns the jobs' action subresources, keyed by name. They change
// spec.enabled, a field of the spec: the scheduler acts on each change of generation.
func (r *REST) Actions() map[string]rest.Storage {
	return map[string]rest.Storage{
		"enable":  action.New(r.New, func(ctx context.Context, name string) (runtime.Object, error) { return r.setEnabled(ctx, name, true) }),
		"disable": action.New(r.New, func(ctx context.Context, name string) (runtime.Object, error) { return r.setEnabled(ctx, name, false) }),
	}
}

func (r *REST) setEnabled(ctx context.Context, name string, enabled bool) (runtime.Object, error) {
	return action.Update(ctx, r.Store, name, func(obj runtime.Object) error {
		obj.(*pipelines.Job).Spec.Enabled = &enabled
		return nil
	})
}

// DisableAll disables the jobs of an experiment, for experiments/archive.
func (r *REST) DisableAll(ctx context.Context, experiment string) error {
	list, err := r.Store.List(ctx, &metainternalversion.ListOptions{
		FieldSelector: fields.OneTermEqualSelector(ExperimentNameField, experiment)})
	if err != nil {
		return err
	}
	for _, j := range list.(*pipelines.JobList).Items {
		if j.Spec.Enabled != nil && !*j.Spec.Enabled {
			continue
		}
		if _, err := r.setEnabled(ctx, j.Name, false); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
