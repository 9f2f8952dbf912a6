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

// Package worker is the loop the run executor and the job scheduler share: workers
// that take keys from a rate-limited queue and sync them.
package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/pipelines-apiserver/pipelines-apiserver/pkg/apis/pipelines"
)

// Sync brings the object named by key in line.
type Sync func(ctx context.Context, key cache.ObjectName) error

// Panicked records on the object named by key that its sync panicked with err (a
// *PanicError), for its owner to see. Nil records nothing.
type Panicked func(ctx context.Context, key cache.ObjectName, err error) error

// PanicError is a panic recovered from a sync.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

var (
	panics = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "pipelines",
		Subsystem:      "controller",
		Name:           "sync_panics_total",
		Help:           "Panics recovered from a controller's sync of one object, by kind of object (job, run).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"kind"})
	registerOnce sync.Once
)

// Run runs n workers that pass the keys of q to do until ctx ends, then shuts q
// down and returns once they have stopped. A key whose sync fails goes back into q,
// rate-limited. A sync that panics is recovered, logged with its stack, counted in
// pipelines_controller_sync_panics_total, reported to panicked and retried
// rate-limited too: one object the controller cannot handle costs a log line per
// backoff, while every other key keeps flowing. Each call's duration is observed in
// duration by result, "success", "error" or "panic"; kind names the objects in the log.
func Run(ctx context.Context, q workqueue.TypedRateLimitingInterface[cache.ObjectName], n int, clk clock.PassiveClock,
	do Sync, panicked Panicked, duration *metrics.HistogramVec, kind string) {
	registerOnce.Do(func() { legacyregistry.MustRegister(panics) })
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for next(ctx, q, clk, do, panicked, duration, kind) {
			}
		})
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

func next(ctx context.Context, q workqueue.TypedRateLimitingInterface[cache.ObjectName], clk clock.PassiveClock,
	do Sync, panicked Panicked, duration *metrics.HistogramVec, kind string) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	logger := klog.FromContext(ctx)
	start := clk.Now()
	err := safely(ctx, key, do)
	result := "success"
	var p *PanicError
	switch {
	case errors.As(err, &p):
		result = "panic"
	case err != nil:
		result = "error"
	}
	duration.WithLabelValues(result).Observe(clk.Since(start).Seconds())
	switch {
	case err == nil:
		q.Forget(key)
		return true
	case p != nil:
		panics.WithLabelValues(kind).Inc()
		logger.Error(err, "Sync panicked; will retry after a backoff", kind, klog.KRef(key.Namespace, key.Name), "stack", string(p.Stack))
		if panicked != nil {
			report := func(ctx context.Context, key cache.ObjectName) error { return panicked(ctx, key, err) }
			if rerr := safely(ctx, key, report); rerr != nil {
				logger.Error(rerr, "Cannot record the panic on the object", kind, klog.KRef(key.Namespace, key.Name))
			}
		}
	default:
		logger.Error(err, "Sync failed; will retry", kind, klog.KRef(key.Namespace, key.Name))
	}
	q.AddRateLimited(key)
	return true
}

// safely calls do, returning a panic as a *PanicError.
func safely(ctx context.Context, key cache.ObjectName, do Sync) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return do(ctx, key)
}

// maxConditionMessage keeps a message well under what a condition may hold (32768),
// whatever the stored object or the panic said.
const maxConditionMessage = 1024

// SetNotSynced sets the Synced condition False in conds for reason, with msg cut to
// a size any condition can hold. It reports whether conds changed.
func SetNotSynced(conds *[]metav1.Condition, generation int64, now time.Time, reason, msg string) bool {
	if len(msg) > maxConditionMessage {
		msg = strings.ToValidUTF8(msg[:maxConditionMessage], "") + "..."
	}
	return meta.SetStatusCondition(conds, metav1.Condition{
		Type: pipelines.ConditionSynced, Status: metav1.ConditionFalse, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}
