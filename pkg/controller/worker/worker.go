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
	"sync"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Sync brings the object named by key in line.
type Sync func(ctx context.Context, key cache.ObjectName) error

// Run runs n workers that pass the keys of q to do until ctx ends, then shuts q
// down and returns once they have stopped. A key whose sync fails goes back into q,
// rate-limited. Each call's duration is observed in duration by result, "success" or
// "error"; kind names the objects in the log.
func Run(ctx context.Context, q workqueue.TypedRateLimitingInterface[cache.ObjectName], n int, clk clock.PassiveClock,
	do Sync, duration *metrics.HistogramVec, kind string) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for next(ctx, q, clk, do, duration, kind) {
			}
		})
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

func next(ctx context.Context, q workqueue.TypedRateLimitingInterface[cache.ObjectName], clk clock.PassiveClock,
	do Sync, duration *metrics.HistogramVec, kind string) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	start := clk.Now()
	err := do(ctx, key)
	result := "success"
	if err != nil {
		result = "error"
	}
	duration.WithLabelValues(result).Observe(clk.Since(start).Seconds())
	if err == nil {
		q.Forget(key)
		return true
	}
	klog.FromContext(ctx).Error(err, "Sync failed; will retry", kind, klog.KRef(key.Namespace, key.Name))
	q.AddRateLimited(key)
	return true
}
