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
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/component-base/metrics/legacyregistry"
)

// stalledWatches opens watches that are never read: n from resourceVersion "0" (the
// current state as ADDED events), n with sendInitialEvents, and n replaying history
// from rev.
func stalledWatches(ctx context.Context, t *testing.T, s *store, n int, rev string) []watch.Interface {
	t.Helper()
	yes := true
	var ws []watch.Interface
	for i := 0; i < n; i++ {
		for _, opts := range []storage.ListOptions{
			{ResourceVersion: "0"},
			{ResourceVersion: "", SendInitialEvents: &yes},
			{ResourceVersion: rev},
		} {
			opts.Recursive = true
			opts.Predicate = storage.Everything
			opts.Predicate.AllowWatchBookmarks = opts.SendInitialEvents != nil
			w, err := s.Watch(ctx, "/pods/ns/", opts)
			if err != nil {
				t.Fatalf("watch %+v: %v", opts, err)
			}
			t.Cleanup(w.Stop)
			ws = append(ws, w)
		}
	}
	return ws
}

// TestStalledWatchesHoldNoConnection: watches that replay history or send the current
// state, and whose client never reads, leave the pool to everyone else. As many of them
// as the pool has connections, and more, while creates, gets and the readiness check go
// on within their deadlines.
func TestStalledWatchesHoldNoConnection(t *testing.T) {
	const pool = 3
	b := testBackend(t, "", func(c *Config) { c.MaxOpenConns, c.MaxIdleConns = pool, pool })
	s := newPodStore(t, b, defaultSetup())
	ctx := context.Background()
	before := currentRV(ctx, t, s)
	// More objects than any buffer between the database and an unread watch.
	for i := 0; i < 300; i++ {
		if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	stalledWatches(ctx, t, s, pool, before)
	time.Sleep(time.Second) // let every watch fill what it can and block

	opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Create(opCtx, podKey(testPod(1000)), testPod(1000), nil, 0); err != nil {
		t.Errorf("create with %d stalled watches on a pool of %d: %v", 3*pool, pool, err)
	}
	if err := s.Get(opCtx, podKey(testPod(1)), storage.GetOptions{}, &example.Pod{}); err != nil {
		t.Errorf("get with %d stalled watches on a pool of %d: %v", 3*pool, pool, err)
	}
	if err := b.ReadinessCheck(); err != nil {
		t.Errorf("readiness with %d stalled watches on a pool of %d: %v", 3*pool, pool, err)
	}
}

// closedSlowWatchers reads the counter of watches ended for falling behind.
func closedSlowWatchers(t *testing.T) float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "mysql_storage_slow_watchers_closed_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestSlowWatcherBoundedInBytes: a watch whose client does not read while large objects
// change is ended once its queue holds more bytes than the limit, long before it holds
// 100,000 events, and the counter of closed slow watchers says so.
func TestSlowWatcherBoundedInBytes(t *testing.T) {
	ctx, s := testSetup(t)
	pod := testPod(0)
	if err := s.Create(ctx, podKey(pod), pod, nil, 0); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, podKey(pod), storage.ListOptions{ResourceVersion: currentRV(ctx, t, s), Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	closedBefore := closedSlowWatchers(t)
	const updates, size = 40, 1 << 20 // 40 MiB of changes, over the default limit
	for i := 0; i < updates; i++ {
		if err := s.GuaranteedUpdate(ctx, podKey(pod), &example.Pod{}, false, nil, storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
			p := obj.(*example.Pod)
			p.Annotations = map[string]string{"big": strings.Repeat(strconv.Itoa(i%10), size)}
			return p, nil
		}), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.b.CurrentRevision(ctx); err != nil { // every update has reached the watch's queue
		t.Fatal(err)
	}
	received := 0
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				done = true
				break
			}
			if ev.Type != watch.Modified {
				t.Fatalf("event %d: %s %v", received, ev.Type, ev.Object)
			}
			received++
		case <-time.After(2 * time.Second):
			t.Fatalf("the watch received %d of %d updates and stays open: its queue is not bounded in bytes", received, updates)
		case <-timeout:
			t.Fatal("the watch neither ended nor stopped sending")
		}
	}
	if received >= updates {
		t.Errorf("the watch received all %d updates of %d MiB before it ended", received, size>>20)
	}
	if got := closedSlowWatchers(t) - closedBefore; got != 1 {
		t.Errorf("mysql_storage_slow_watchers_closed_total rose by %v, want 1", got)
	}
	t.Logf("the watch received %d of %d updates of %d MiB before it was closed", received, updates, size>>20)
}

// TestWatchPagesAreExact: with pages of a few objects, watches that replay history, list
// the current state, or send initial events with a bookmark, all while objects are
// created, updated and deleted, see every change once and in order: applying their
// events gives exactly the final list, every event after the initial state is newer than
// the one before, and none creates a key that exists or changes one that does not.
func TestWatchPagesAreExact(t *testing.T) {
	ctx, s := testSetup(t)
	s.b.watchPageBytes = 2 << 10 // a few pods per page
	for i := 0; i < 200; i++ {
		if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	initial := map[string]string{}
	list := &example.PodList{}
	if err := s.GetList(ctx, "/pods/ns/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		initial[p.Name] = p.ResourceVersion
	}
	historyFrom := list.ResourceVersion

	yes := true
	watches := map[string]storage.ListOptions{
		"history":           {ResourceVersion: historyFrom},
		"resourceVersion 0": {ResourceVersion: "0"},
		"sendInitialEvents": {SendInitialEvents: &yes},
	}
	results := map[string]chan map[string]string{}
	writesDone := make(chan struct{})
	var final string // the revision of the last write, once writesDone is closed
	for name, opts := range watches {
		opts.Recursive = true
		opts.Predicate = storage.Everything
		opts.Predicate.AllowWatchBookmarks = opts.SendInitialEvents != nil
		w, err := s.Watch(ctx, "/pods/ns/", opts)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		out := make(chan map[string]string, 1)
		results[name] = out
		state := map[string]string{}
		if name == "history" {
			maps.Copy(state, initial)
		}
		go func() {
			defer close(out)
			var last uint64
			// Until the initial state is over, events come in key order, not revision
			// order: the bookmark ends it; resourceVersion 0 has none, and only its
			// changes after the initial state are checked for order.
			initialDone := name == "history"
			lastRV, done := "", writesDone
			for n := 0; ; n++ {
				if n < 300 {
					time.Sleep(time.Millisecond) // a slow client: writes land during its pages
				}
				var ev watch.Event
				var ok bool
				select {
				case ev, ok = <-w.ResultChan():
				case <-done:
					done = nil
					if lastRV == final {
						out <- state
						return
					}
					continue
				case <-time.After(30 * time.Second):
					t.Errorf("%s: no event for 30 s", name)
					return
				}
				if !ok {
					t.Errorf("%s: the watch ended", name)
					return
				}
				if ev.Type == watch.Bookmark {
					if !initialDone {
						initialDone = true
						last, _ = strconv.ParseUint(ev.Object.(*example.Pod).ResourceVersion, 10, 64)
					}
					continue
				}
				pod, isPod := ev.Object.(*example.Pod)
				if !isPod {
					t.Errorf("%s: %s %v", name, ev.Type, ev.Object)
					return
				}
				rv, _ := strconv.ParseUint(pod.ResourceVersion, 10, 64)
				if initialDone || name == "resourceVersion 0" && ev.Type != watch.Added {
					if rv <= last {
						t.Errorf("%s: %s %s at revision %d after %d", name, ev.Type, pod.Name, rv, last)
					}
					last = rv
				}
				_, exists := state[pod.Name]
				switch {
				case ev.Type == watch.Added && exists, ev.Type != watch.Added && !exists:
					t.Errorf("%s: %s %s, which exists=%v", name, ev.Type, pod.Name, exists)
				}
				if ev.Type == watch.Deleted {
					delete(state, pod.Name)
				} else {
					state[pod.Name] = pod.ResourceVersion
				}
				lastRV = pod.ResourceVersion
				if done == nil && lastRV == final {
					out <- state
					return
				}
			}
		}()
	}

	// Writes while the watches page: updates, deletes and creates.
	for i := 0; i < 300; i++ {
		k := i % 200
		var err error
		switch i % 3 {
		case 0:
			err = s.GuaranteedUpdate(ctx, podKey(testPod(k)), &example.Pod{}, false, nil, storage.SimpleUpdate(func(obj runtime.Object) (runtime.Object, error) {
				p := obj.(*example.Pod)
				p.Labels = map[string]string{"i": strconv.Itoa(i)}
				return p, nil
			}), nil)
			if storage.IsNotFound(err) {
				err = nil
			}
		case 1:
			err = s.Delete(ctx, podKey(testPod(k)), &example.Pod{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{})
			if storage.IsNotFound(err) {
				err = nil
			}
		case 2:
			err = s.Create(ctx, podKey(testPod(1000+i)), testPod(1000+i), nil, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	final = currentRV(ctx, t, s)
	close(writesDone)
	list = &example.PodList{}
	if err := s.GetList(ctx, "/pods/ns/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, p := range list.Items {
		want[p.Name] = p.ResourceVersion
	}
	for name, out := range results {
		got := <-out
		if got != nil && !maps.Equal(got, want) {
			t.Errorf("%s: the events give %d objects, the list at %s has %d (or other revisions)", name, len(got), final, len(want))
		}
	}
}
