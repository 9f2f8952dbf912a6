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

package mysql

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// RESTOptionsGetter hands the generic registry stores backed by this engine.
type RESTOptionsGetter struct {
	Backend *Backend
	// Prefix is prepended to every key ("/registry").
	Prefix string
	// Codec returns the storage codec of a resource (JSON at its storage version).
	Codec func(schema.GroupResource) (runtime.Codec, error)
	// EnableGarbageCollection lets the registry set owner-reference finalizers.
	EnableGarbageCollection bool
	DeleteCollectionWorkers int
}

var _ generic.RESTOptionsGetter = &RESTOptionsGetter{}

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g *RESTOptionsGetter) GetRESTOptions(resource schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	codec, err := g.Codec(resource)
	if err != nil {
		return generic.RESTOptions{}, fmt.Errorf("storage codec for %s: %w", resource, err)
	}
	return generic.RESTOptions{
		StorageConfig: &storagebackend.ConfigForResource{
			Config:        storagebackend.Config{Prefix: g.Prefix, Codec: codec},
			GroupResource: resource,
		},
		Decorator:               g.decorate,
		EnableGarbageCollection: g.EnableGarbageCollection,
		DeleteCollectionWorkers: g.DeleteCollectionWorkers,
		ResourcePrefix:          resource.Group + "/" + resource.Resource,
		CountMetricPollPeriod:   time.Minute,
	}, nil
}

// decorate is a generic.StorageDecorator. It adds no watch cache: the engine's own
// tail already fans one read of the change log out to every watcher.
func (g *RESTOptionsGetter) decorate(config *storagebackend.ConfigForResource, resourcePrefix string,
	_ func(obj runtime.Object) (string, error), newFunc, newListFunc func() runtime.Object,
	getAttrs storage.AttrFunc, _ storage.IndexerFuncs, _ *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := g.Backend.NewStore(ctx, StoreOptions{
		Codec:          config.Codec,
		Transformer:    config.Transformer,
		Prefix:         config.Prefix,
		ResourcePrefix: resourcePrefix,
		GroupResource:  config.GroupResource,
		NewFunc:        newFunc,
		NewListFunc:    newListFunc,
		GetAttrs:       getAttrs,
	})
	if err != nil {
		return nil, nil, err
	}
	// The backend is shared by every resource and closed by its owner.
	return s, func() {}, nil
}
