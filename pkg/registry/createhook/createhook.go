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

// Package createhook runs a resource's create-time checks also when an object is
// created by an update (server-side apply of a new object reaches the store's Update
// with forceAllowCreate, not its Create), and on updates that change what they checked.
package createhook

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Func checks and completes an object about to be created.
type Func func(ctx context.Context, obj runtime.Object) error

// Changed says whether an update from old to obj changes what a Func checks.
type Changed func(obj, old runtime.Object) bool

// Wrap returns objInfo with hook run on the new object when there is no current one.
func Wrap(objInfo rest.UpdatedObjectInfo, hook Func) rest.UpdatedObjectInfo {
	return &wrapped{UpdatedObjectInfo: objInfo, hook: hook}
}

// WrapChanges returns objInfo with hook run on the new object when there is no current
// one, and when changed says the update changes what hook checks: the hook then sees
// the caller's identity in ctx, as on create.
func WrapChanges(objInfo rest.UpdatedObjectInfo, hook Func, changed Changed) rest.UpdatedObjectInfo {
	return &wrapped{UpdatedObjectInfo: objInfo, hook: hook, changed: changed}
}

type wrapped struct {
	rest.UpdatedObjectInfo
	hook    Func
	changed Changed
}

func (w *wrapped) UpdatedObject(ctx context.Context, old runtime.Object) (runtime.Object, error) {
	obj, err := w.UpdatedObjectInfo.UpdatedObject(ctx, old)
	if err != nil {
		return nil, err
	}
	// The store hands an empty object, without a resourceVersion, when none exists.
	if m, merr := meta.Accessor(old); merr == nil && m.GetResourceVersion() != "" &&
		(w.changed == nil || !w.changed(obj, old)) {
		return obj, nil
	}
	if err := w.hook(ctx, obj); err != nil {
		return nil, err
	}
	return obj, nil
}
