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

// Package refcache keeps in memory the objects a create refers to (experiments,
// pipelines, pipeline versions), so that creating a run or a job checks its references
// with map lookups instead of reads and decodes from MySQL (19 % of the server's CPU
// during creates, docs/performance.md). Each Cache lists its resource once and then
// follows the storage's watch, which the change-log tail every replica runs feeds.
//
// How current it is, and what a stale entry can do:
//   - Writes of this process: a Cache sees every write made through its storage (it
//     wraps it), and a lookup waits until the watch has delivered the last of them. So
//     on the replica that deleted an experiment, a run created after the delete returned
//     is refused, as before.
//   - Writes of another replica reach this one's tail within its poll interval. A
//     reference deleted there within that time can still be found here: the run is then
//     created owning an experiment (or pinning a version) that is gone, which is the same
//     race the read from MySQL had between its read and the run's commit, only longer.
//     The cascade's sweep (package cascade, run by the controllers' leader every minute)
//     deletes runs and jobs whose owner UID no longer exists.
//   - A name the cache does not hold is read from the storage, so an object created on
//     another replica a moment ago is found, and an absent one reported as before.
//   - Until the first list and after a broken watch, until the next list, every lookup
//     reads the storage.
//
// What it may hold is bounded (MaxObjects): tenants create experiments and pipelines, and
// no tenant may grow every replica's memory without limit. A resource with more objects
// is not cached; its lookups read the storage, as before the cache, and the cache tries
// again every DefaultOverflowRetry.
package refcache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/klog/v2"
)

const (
	// catchUpTimeout bounds how long a lookup waits for the watch to deliver this
	// process's own writes before it reads the storage instead.
	catchUpTimeout = time.Second
	// DefaultMaxObjects is how many objects of one resource a Cache holds at most (a
	// pipeline version, trimmed, is about 1 kB).
	DefaultMaxObjects = 50_000
	// DefaultOverflowRetry is how long a cache that outgrew its bound reads the storage
	// before it lists again.
	DefaultOverflowRetry = 10 * time.Minute
)

// errOverflow ends a list-and-watch whose resource has more objects than the bound.
var errOverflow = errors.New("more objects than the reference cache holds")

// Cache holds one resource's objects, by namespace and name.
type Cache struct {
	resource string
	// trim drops what no lookup needs (a version's pipeline definition), to keep the
	// cache small; it returns a copy, never changing its argument.
	trim func(runtime.Object) runtime.Object
	// store reads what the cache does not hold; set by the registry once it exists.
	store rest.Getter
	// maxObjects bounds objs; past it the cache lists again after overflowRetry.
	maxObjects    int
	overflowRetry time.Duration

	mu       sync.Mutex
	objs     map[string]runtime.Object
	synced   bool
	applied  int64         // the revision up to which the watch has been applied
	written  int64         // the latest revision this process wrote through the storage
	advanced chan struct{} // closed when applied moves
}

// New returns an empty cache of resource (named in logs), keeping what trim returns, of
// at most maxObjects objects (DefaultMaxObjects when 0).
func New(resource string, trim func(runtime.Object) runtime.Object, maxObjects int) *Cache {
	if trim == nil {
		trim = func(obj runtime.Object) runtime.Object { return obj }
	}
	if maxObjects <= 0 {
		maxObjects = DefaultMaxObjects
	}
	return &Cache{resource: resource, trim: trim, maxObjects: maxObjects, overflowRetry: DefaultOverflowRetry,
		objs: map[string]runtime.Object{}, advanced: make(chan struct{})}
}

// Held is how many objects the cache holds, and whether lookups answer from it.
func (c *Cache) Held() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.objs), c.synced
}

// Getter returns a rest.Getter that answers from the cache and reads store for names
// the cache does not hold. Objects it returns are shared: callers must not change them.
func (c *Cache) Getter(store rest.Getter) rest.Getter {
	c.store = store
	return getter{c}
}

type getter struct{ c *Cache }

func (g getter) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	ns, _ := genericapirequest.NamespaceFrom(ctx)
	if obj, ok := g.c.lookup(ctx, ns, name); ok {
		return obj, nil
	}
	return g.c.store.Get(ctx, name, opts)
}

// lookup returns the cached object once the cache has applied this process's writes.
func (c *Cache) lookup(ctx context.Context, ns, name string) (runtime.Object, bool) {
	c.mu.Lock()
	written := c.written
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	for {
		c.mu.Lock()
		synced, caughtUp, ch := c.synced, c.applied >= written, c.advanced
		obj, ok := c.objs[ns+"/"+name]
		c.mu.Unlock()
		if !synced {
			return nil, false
		}
		if caughtUp {
			return obj, ok
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// wrote records a revision this process wrote.
func (c *Cache) wrote(obj runtime.Object) {
	rev, ok := revision(obj)
	if !ok {
		return
	}
	c.mu.Lock()
	c.written = max(c.written, rev)
	c.mu.Unlock()
}

// advance records that the watch has been applied up to rev.
func (c *Cache) advanceLocked(rev int64) {
	if rev <= c.applied {
		return
	}
	c.applied = rev
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// run lists and watches s under prefix until ctx ends, relisting after the watch
// breaks.
func (c *Cache) run(ctx context.Context, s storage.Interface, prefix string, newList func() runtime.Object) {
	backoff := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 10, Cap: 30 * time.Second}
	delay := backoff
	failures := 0
	for ctx.Err() == nil {
		synced, err := c.listAndWatch(ctx, s, prefix, newList)
		c.mu.Lock()
		c.synced, c.objs = false, map[string]runtime.Object{}
		// Lookups waiting for the watch read the storage now.
		close(c.advanced)
		c.advanced = make(chan struct{})
		c.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errOverflow) {
			klog.FromContext(ctx).Info("Too many objects to keep for create checks; reading them from the database",
				"resource", c.resource, "maxObjects", c.maxObjects, "retryAfter", c.overflowRetry)
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.overflowRetry):
			}
			continue
		}
		if synced {
			delay, failures = backoff, 0
		}
		// Once per outage: a closed storage (a test's, never destroyed) fails forever.
		if failures++; failures == 1 {
			klog.FromContext(ctx).Error(err, "Watching references for create checks; reading them from the database meanwhile",
				"resource", c.resource)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay.Step()):
		}
	}
}

// listAndWatch fills the cache and follows the watch until it ends; it says whether
// the cache was filled.
func (c *Cache) listAndWatch(ctx context.Context, s storage.Interface, prefix string, newList func() runtime.Object) (bool, error) {
	// One more than the bound: enough to know that the resource does not fit.
	list := newList()
	pred := storage.Everything
	pred.Limit = int64(c.maxObjects) + 1
	if err := s.GetList(ctx, prefix, storage.ListOptions{Recursive: true, Predicate: pred}, list); err != nil {
		return false, fmt.Errorf("listing: %w", err)
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return false, err
	}
	rv := lm.GetResourceVersion()
	items, err := meta.ExtractList(list)
	if err != nil {
		return false, err
	}
	if len(items) > c.maxObjects || lm.GetContinue() != "" {
		return false, errOverflow
	}
	objs := make(map[string]runtime.Object, len(items))
	for _, item := range items {
		if k, ok := key(item); ok {
			objs[k] = c.trim(item)
		}
	}
	w, err := s.Watch(ctx, prefix, storage.ListOptions{ResourceVersion: rv, Recursive: true, Predicate: storage.Everything,
		ProgressNotify: true})
	if err != nil {
		return false, fmt.Errorf("watching: %w", err)
	}
	defer w.Stop()
	listRev, _ := strconv.ParseInt(rv, 10, 64)
	c.mu.Lock()
	c.objs, c.synced = objs, true
	c.advanceLocked(listRev)
	c.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true, fmt.Errorf("the watch ended")
			}
			if ev.Type == watch.Error {
				return true, fmt.Errorf("the watch failed: %v", ev.Object)
			}
			if !c.apply(ev) {
				return true, errOverflow
			}
		}
	}
}

// apply applies one event; false means the cache would outgrow its bound.
func (c *Cache) apply(ev watch.Event) bool {
	rev, _ := revision(ev.Object)
	k, ok := key(ev.Object)
	var obj runtime.Object
	if ev.Type == watch.Added || ev.Type == watch.Modified {
		obj = c.trim(ev.Object)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ev.Type == watch.Deleted && ok:
		delete(c.objs, k)
	case obj != nil && ok:
		c.objs[k] = obj
	}
	if len(c.objs) > c.maxObjects {
		return false
	}
	c.advanceLocked(rev)
	return true
}

func key(obj runtime.Object) (string, bool) {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetName() == "" {
		return "", false
	}
	return m.GetNamespace() + "/" + m.GetName(), true
}

func revision(obj runtime.Object) (int64, bool) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0, false
	}
	rev, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	return rev, err == nil
}
