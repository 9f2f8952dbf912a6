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
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/lru"
)

// decodedObjects keeps the objects a backend's stores decoded lately, by revision, so that
// reading a version already decoded copies it instead of parsing its JSON again. A
// revision names one version of one key (of any resource: there is one change log), whose
// stored bytes never change, so an entry never goes stale. Pages that a UI polls, the
// events every watcher of a resource decodes, and gets and updates of objects just written
// read the same versions again and again; decoding was a third of this server's CPU for a
// page of runs. Callers get copies, never the kept object. The stored size of what is kept
// is bounded; the least recently used goes first.
type decodedObjects struct {
	maxBytes int64

	mu    sync.Mutex // serializes add, so that bytes counts each entry once
	bytes int64
	lru   *lru.Cache // revision → decodedEntry
}

type decodedEntry struct {
	key  string
	size int64
	obj  runtime.Object
}

// newDecodedObjects returns a cache holding up to maxBytes of stored data; nil (no cache)
// if maxBytes is not positive.
func newDecodedObjects(maxBytes int64) *decodedObjects {
	if maxBytes <= 0 {
		return nil
	}
	d := &decodedObjects{maxBytes: maxBytes}
	// Unbounded in entries: add bounds the bytes. Evictions happen only in add, under mu.
	d.lru = lru.NewWithEvictionFunc(0, func(_ lru.Key, v any) { d.bytes -= v.(decodedEntry).size })
	return d
}

// object returns a copy of key's object at rev if it is kept and of type t (a pointer
// type), or nil.
func (d *decodedObjects) object(key string, rev int64, t reflect.Type) runtime.Object {
	if d == nil {
		return nil
	}
	v, ok := d.lru.Get(rev)
	if !ok {
		return nil
	}
	e := v.(decodedEntry)
	if e.key != key || reflect.TypeOf(e.obj) != t {
		return nil
	}
	return e.obj.DeepCopyObject()
}

// into copies key's object at rev into out and says whether it was kept.
func (d *decodedObjects) into(key string, rev int64, out runtime.Object) bool {
	obj := d.object(key, rev, reflect.TypeOf(out))
	if obj == nil {
		return false
	}
	reflect.ValueOf(out).Elem().Set(reflect.ValueOf(obj).Elem())
	return true
}

// add keeps a copy of obj, key's object at rev decoded from size stored bytes.
func (d *decodedObjects) add(key string, rev int64, size int, obj runtime.Object) {
	if d == nil || int64(size) > d.maxBytes/16 {
		return // one large object must not push out everything else
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lru.Get(rev); ok {
		return
	}
	d.lru.Add(rev, decodedEntry{key: key, size: int64(size), obj: obj.DeepCopyObject()})
	d.bytes += int64(size)
	for d.bytes > d.maxBytes && d.lru.Len() > 0 {
		d.lru.RemoveOldest()
	}
}
