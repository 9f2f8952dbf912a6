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
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/component-base/metrics/testutil"
)

// TestBatchedCreates sends many creates at once, some of the same key and some of keys
// that exist, so that they are written in batches and some batches go one by one. Each
// new key is created once, every other attempt is AlreadyExists, each create's revision
// is the one stored, and a watch sees each create once, in order. It runs with the ids
// of a batch counted from the first (InnoDB's consecutive mode, the test server's) and
// read back from the change log (what a server in interleaved mode gets).
func TestBatchedCreates(t *testing.T) {
	for _, readBack := range []bool{false, true} {
		t.Run("read back ids "+strconv.FormatBool(readBack), func(t *testing.T) {
			ctx, s := testSetup(t)
			if s.b.logIDStep != 1 {
				t.Fatalf("the test server hands out ids in steps of %d; want 1 (innodb_autoinc_lock_mode 1)", s.b.logIDStep)
			}
			if readBack {
				s.b.logIDStep = 0
			}
			const newKeys, existing, attempts = 32, 8, 2
			for i := newKeys; i < newKeys+existing; i++ {
				if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
					t.Fatal(err)
				}
			}
			w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: currentRV(ctx, t, s), Recursive: true, Predicate: storage.Everything})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			batchesBefore, err := testutil.GetHistogramMetricCount(createBatchSize.ObserverMetric)
			if err != nil {
				t.Fatal(err)
			}

			type result struct {
				key int
				rv  string
				err error
			}
			results := make(chan result, (newKeys+existing)*attempts)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for a := 0; a < attempts; a++ {
				for i := 0; i < newKeys+existing; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						out := &example.Pod{}
						err := s.Create(ctx, podKey(testPod(i)), testPod(i), out, 0)
						results <- result{i, out.ResourceVersion, err}
					}()
				}
			}
			close(start)
			wg.Wait()
			close(results)

			created := map[int]string{}
			revisions := map[string]bool{}
			for r := range results {
				switch {
				case r.err == nil:
					if r.key >= newKeys {
						t.Errorf("%s existed, and its create succeeded", podKey(testPod(r.key)))
					}
					if _, twice := created[r.key]; twice {
						t.Errorf("%s was created twice", podKey(testPod(r.key)))
					}
					if revisions[r.rv] {
						t.Errorf("revision %s was returned to two creates", r.rv)
					}
					created[r.key], revisions[r.rv] = r.rv, true
				case storage.IsExist(r.err):
				default:
					t.Errorf("create %s: %v", podKey(testPod(r.key)), r.err)
				}
			}
			if len(created) != newKeys {
				t.Fatalf("%d of %d new keys were created", len(created), newKeys)
			}
			for i, rv := range created {
				got := &example.Pod{}
				if err := s.Get(ctx, podKey(testPod(i)), storage.GetOptions{}, got); err != nil {
					t.Fatal(err)
				}
				if got.ResourceVersion != rv {
					t.Errorf("%s: create returned revision %s, the store holds %s", podKey(testPod(i)), rv, got.ResourceVersion)
				}
			}
			batchesAfter, err := testutil.GetHistogramMetricCount(createBatchSize.ObserverMetric)
			if err != nil {
				t.Fatal(err)
			}
			if batchesAfter == batchesBefore {
				t.Errorf("%d creates at once were written without a single batch", (newKeys+existing)*attempts)
			}

			var last uint64
			for seen := 0; seen < newKeys; seen++ {
				select {
				case ev := <-w.ResultChan():
					pod, ok := ev.Object.(*example.Pod)
					if ev.Type != watch.Added || !ok {
						t.Fatalf("event %d: %s %T, want ADDED pods only", seen, ev.Type, ev.Object)
					}
					rv, _ := strconv.ParseUint(pod.ResourceVersion, 10, 64)
					if rv <= last {
						t.Fatalf("event %d: revision %d after %d", seen, rv, last)
					}
					last = rv
					if i, _ := strconv.Atoi(pod.Name[len("pod-"):]); created[i] != pod.ResourceVersion {
						t.Errorf("watch: %s at revision %s, created at %s", pod.Name, pod.ResourceVersion, created[i])
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("the watch delivered %d of %d creates", seen, newKeys)
				}
			}
			select {
			case ev := <-w.ResultChan():
				t.Errorf("an event more than the creates: %s %v", ev.Type, ev.Object)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

// TestQueuedCreateGivesUp: a create that waits for a free slot past its deadline returns
// the deadline's error, and is never written.
func TestQueuedCreateGivesUp(t *testing.T) {
	ctx, s := testSetup(t)
	s.creates.mu.Lock()
	s.creates.running = createSlots // every slot busy
	s.creates.mu.Unlock()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := s.Create(short, podKey(testPod(1)), testPod(1), &example.Pod{}, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("create waiting for a slot past its deadline: got %v, want the deadline's error", err)
	}
	// The slots come free; the queue holds only the create that gave up.
	s.nextBatch()
	s.creates.mu.Lock()
	running, queued := s.creates.running, len(s.creates.queue)
	s.creates.mu.Unlock()
	if running != createSlots-1 || queued != 0 {
		t.Fatalf("after a slot came free: %d running and %d queued, want %d and 0", running, queued, createSlots-1)
	}
	if err := s.Get(ctx, podKey(testPod(1)), storage.GetOptions{}, &example.Pod{}); !storage.IsNotFound(err) {
		t.Fatalf("the create that gave up was written: Get = %v", err)
	}
	if err := s.Create(ctx, podKey(testPod(1)), testPod(1), &example.Pod{}, 0); err != nil {
		t.Fatalf("creating the key afterwards: %v", err)
	}
}

// TestTakeBatch: a batch holds one create per key, skips creates whose callers gave up,
// and is of a batch size; the rest stay queued in order.
func TestTakeBatch(t *testing.T) {
	var c createBatcher
	var abandoned *pendingCreate
	for _, k := range []string{"a", "a", "b", "c", "d", "e", "f"} {
		p := &pendingCreate{change: change{key: k}, done: make(chan struct{})}
		if k == "c" {
			p.state.Store(pendingAbandoned)
			abandoned = p
		}
		c.queue = append(c.queue, p)
	}
	keys := func(ps []*pendingCreate) (ks []string) {
		for _, p := range ps {
			ks = append(ks, p.key)
		}
		return ks
	}
	batch := c.take()
	if got, want := fmt.Sprint(keys(batch)), "[a b d e]"; got != want {
		t.Errorf("batch %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(keys(c.queue)), "[a f]"; got != want {
		t.Errorf("left queued %s, want %s", got, want)
	}
	for _, p := range batch {
		if p.state.Load() != pendingTaken {
			t.Errorf("%s is in a batch but not marked taken", p.key)
		}
	}
	if abandoned.state.Load() != pendingAbandoned {
		t.Error("a create whose caller gave up changed state")
	}
	if batch = c.take(); len(batch) != 2 {
		t.Errorf("second batch %v, want the two left", keys(batch))
	}
	if batch = c.take(); len(batch) != 0 || len(c.queue) != 0 {
		t.Errorf("empty queue gave %v and left %v", keys(batch), keys(c.queue))
	}
}

func TestBatchSize(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 2, 7: 4, 8: 8, 15: 8, 16: 16, 40: 16} {
		if got := batchSize(n); got != want {
			t.Errorf("batchSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func testPod(i int) *example.Pod {
	return &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pod-" + strconv.Itoa(i)}}
}

func currentRV(ctx context.Context, t *testing.T, s *store) string {
	t.Helper()
	rv, err := s.GetCurrentResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(rv, 10)
}
