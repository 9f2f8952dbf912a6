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

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/action"
)

// Actions returns the experiments' action subresources, keyed by name. They change
// status through statusStore.
func (r *REST) Actions(statusStore rest.Updater) map[string]rest.Storage {
	return map[string]rest.Storage{
		"archive": action.New(r.New, func(ctx context.Context, name string) (runtime.Object, error) {
			return r.archive(ctx, statusStore, name)
		}),
		// Unarchiving leaves the runs archived: the user unarchives those they want back.
		"unarchive": action.New(r.New, func(ctx context.Context, name string) (runtime.Object, error) {
			return setState(ctx, statusStore, name, pipelines.StorageStateAvailable)
		}),
	}
}

// archive archives the experiment first, so that no run can be unarchived under it,
// then what it holds (OnArchive): its runs are archived and its jobs disabled.
func (r *REST) archive(ctx context.Context, statusStore rest.Updater, name string) (runtime.Object, error) {
	obj, err := setState(ctx, statusStore, name, pipelines.StorageStateArchived)
	if err != nil {
		return nil, err
	}
	for _, f := range r.OnArchive {
		if err := f(ctx, name); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func setState(ctx context.Context, statusStore rest.Updater, name string, state pipelines.StorageState) (runtime.Object, error) {
	return action.Update(ctx, statusStore, name, func(obj runtime.Object) error {
		obj.(*pipelines.Experiment).Status.StorageState = state
		return nil
	})
}
