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

// Package cascade deletes what an object owns when it is deleted. Kubernetes' garbage
// collector does this for owner references, but not every cluster runs one (a bare
// kube-apiserver, a local control plane), and pipelines users expect a deleted
// pipeline's versions or experiment's runs to go either way. Where a collector runs,
// it finds nothing left to do.
package cascade

import (
	"context"
	"fmt"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Dependents are the objects of one resource that name their owner in Field.
type Dependents struct {
	// Store deletes them.
	Store rest.CollectionDeleter
	// Field is the indexed field that holds the owner's name, e.g. "spec.pipelineName".
	Field string
}

// Delete deletes the dependents of the owner called name, in the namespace of ctx,
// unless options orphan them.
func Delete(ctx context.Context, name string, options *metav1.DeleteOptions, deps ...Dependents) error {
	if Orphans(options) {
		return nil
	}
	// Dependents go in the background whatever the owner's policy: nothing waits on them.
	background := metav1.DeletePropagationBackground
	opts := &metav1.DeleteOptions{PropagationPolicy: &background}
	if options != nil {
		opts.DryRun = options.DryRun
	}
	for _, d := range deps {
		list := &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector(d.Field, name)}
		if _, err := d.Store.DeleteCollection(ctx, rest.ValidateAllObjectFunc, opts, list); err != nil {
			return fmt.Errorf("deleting the objects with %s=%s: %w", d.Field, name, err)
		}
	}
	return nil
}

// Orphans says whether options leave dependents behind.
func Orphans(options *metav1.DeleteOptions) bool {
	if options == nil {
		return false
	}
	if options.PropagationPolicy != nil {
		return *options.PropagationPolicy == metav1.DeletePropagationOrphan
	}
	//lint:ignore SA1019 OrphanDependents is deprecated but still honoured by the API.
	return options.OrphanDependents != nil && *options.OrphanDependents
}
