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

package refcache

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// RESTOptionsGetter hands out getter's options, with the storage of the resources
// that have a Cache wrapped so that the cache sees their writes and follows their
// watch (started when the storage is made, stopped when it is destroyed).
type RESTOptionsGetter struct {
	generic.RESTOptionsGetter
	Caches map[schema.GroupResource]*Cache
}

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g RESTOptionsGetter) GetRESTOptions(gr schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.RESTOptionsGetter.GetRESTOptions(gr, example)
	c := g.Caches[gr]
	if err != nil || c == nil {
		return opts, err
	}
	decorate := opts.Decorator
	opts.Decorator = func(config *storagebackend.ConfigForResource, prefix string, keyFunc func(runtime.Object) (string, error),
		newFunc, newListFunc func() runtime.Object, attrs storage.AttrFunc, triggers storage.IndexerFuncs,
		indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		s, destroy, err := decorate(config, prefix, keyFunc, newFunc, newListFunc, attrs, triggers, indexers)
		if err != nil {
			return s, destroy, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		go c.run(ctx, s, prefix, newListFunc)
		return recording{Interface: s, c: c}, func() {
			cancel()
			if destroy != nil {
				destroy()
			}
		}, nil
	}
	return opts, nil
}

// recording is a storage that tells its cache of every write that succeeded.
type recording struct {
	storage.Interface
	c *Cache
}

// Unwrap returns the storage s wraps, for the optional interfaces of the storage
// underneath, or s itself.
func Unwrap(s storage.Interface) storage.Interface {
	if r, ok := s.(recording); ok {
		return r.Interface
	}
	return s
}

func (r recording) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	err := r.Interface.Create(ctx, key, obj, out, ttl)
	if err == nil {
		r.c.wrote(out)
	}
	return err
}

func (r recording) Delete(ctx context.Context, key string, out runtime.Object, pre *storage.Preconditions,
	validate storage.ValidateObjectFunc, cached runtime.Object, opts storage.DeleteOptions) error {
	err := r.Interface.Delete(ctx, key, out, pre, validate, cached, opts)
	if err == nil {
		r.c.wrote(out)
	}
	return err
}

func (r recording) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	pre *storage.Preconditions, tryUpdate storage.UpdateFunc, cached runtime.Object) error {
	err := r.Interface.GuaranteedUpdate(ctx, key, out, ignoreNotFound, pre, tryUpdate, cached)
	if err == nil {
		r.c.wrote(out)
	}
	return err
}
