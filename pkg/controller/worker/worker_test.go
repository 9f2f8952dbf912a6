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

package worker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/utils/clock"
)

// A failed sync comes back, rate-limited, until it succeeds; every call is observed.
func TestRun(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](time.Millisecond, 10*time.Millisecond))
	duration := metrics.NewHistogramVec(&metrics.HistogramOpts{Name: "test_sync_seconds", Help: "test"}, []string{"result"})
	registry := metrics.NewKubeRegistry()
	registry.MustRegister(duration)

	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	do := func(_ context.Context, key cache.ObjectName) error {
		mu.Lock()
		defer mu.Unlock()
		calls[key.Name]++
		if key.Name == "flaky" && calls[key.Name] < 3 {
			return errors.New("not yet")
		}
		if calls["flaky"] == 3 && calls["steady"] == 1 {
			close(done)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		Run(ctx, q, 2, clock.RealClock{}, do, nil, duration, "thing")
		close(stopped)
	}()
	q.Add(cache.ObjectName{Namespace: "ns", Name: "flaky"})
	q.Add(cache.ObjectName{Namespace: "ns", Name: "steady"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("calls %v after 10s, want flaky 3 times and steady once", calls)
	}
	cancel()
	<-stopped
	if !q.ShuttingDown() {
		t.Errorf("the queue was not shut down")
	}
	for result, want := range map[string]int{"success": 2, "error": 2} {
		got, err := testutil.GetHistogramMetricCount(duration.WithLabelValues(result))
		if err != nil || got != uint64(want) {
			t.Errorf("%s syncs observed: %d (%v), want %d", result, got, err, want)
		}
	}
}

// A sync that panics is recovered: the panic is counted, reported to the hook and the
// key retried, while other keys keep flowing.
func TestRunRecoversPanics(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](time.Millisecond, 10*time.Millisecond))
	duration := metrics.NewHistogramVec(&metrics.HistogramOpts{Name: "test_panic_sync_seconds", Help: "test"}, []string{"result"})
	registry := metrics.NewKubeRegistry()
	registry.MustRegister(duration)
	before, _ := testutil.GetCounterMetricValue(panics.WithLabelValues("thing"))

	var mu sync.Mutex
	calls := map[string]int{}
	var reported []error
	done := make(chan struct{})
	do := func(_ context.Context, key cache.ObjectName) error {
		mu.Lock()
		calls[key.Name]++
		n := calls[key.Name]
		mu.Unlock()
		if key.Name == "poison" && n < 3 {
			panic(errors.New("boom"))
		}
		if key.Name == "poison" {
			close(done)
		}
		return nil
	}
	panicked := func(_ context.Context, key cache.ObjectName, err error) error {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
		panic("and the hook panics too")
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		Run(ctx, q, 1, clock.RealClock{}, do, panicked, duration, "thing")
		close(stopped)
	}()
	q.Add(cache.ObjectName{Namespace: "ns", Name: "poison"})
	q.Add(cache.ObjectName{Namespace: "ns", Name: "good"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("calls %v after 10s, want poison 3 times", calls)
	}
	cancel()
	<-stopped
	mu.Lock()
	defer mu.Unlock()
	if calls["good"] != 1 {
		t.Errorf("good synced %d times, want once", calls["good"])
	}
	var p *PanicError
	if len(reported) != 2 || !errors.As(reported[0], &p) || !strings.Contains(string(p.Stack), "worker_test.go") {
		t.Errorf("reported %v, want two panics with their stacks", reported)
	}
	after, _ := testutil.GetCounterMetricValue(panics.WithLabelValues("thing"))
	if after-before != 2 {
		t.Errorf("panics counted: %v, want 2", after-before)
	}
	if got, err := testutil.GetHistogramMetricCount(duration.WithLabelValues("panic")); err != nil || got != 2 {
		t.Errorf("panicking syncs observed: %d (%v), want 2", got, err)
	}
}
