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

package job

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// QueueName names the scheduler's work queue in the workqueue_* metrics (depth,
// latency, retries).
const QueueName = "job_scheduler"

var (
	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "pipelines",
		Subsystem:      "job_scheduler",
		Name:           "reconcile_duration_seconds",
		Help:           "How long the job scheduler took to bring one job in line, by result (success, error).",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 15),
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	runsCreated = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "pipelines",
		Subsystem:      "job_scheduler",
		Name:           "runs_created_total",
		Help:           "Runs the job scheduler created.",
		StabilityLevel: metrics.ALPHA,
	})
	scheduleLag = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace: "pipelines",
		Subsystem: "job_scheduler",
		Name:      "schedule_lag_seconds",
		Help: "How long after its scheduled time a job's run was created. Catching up missed " +
			"schedules, and waiting for maxConcurrency, add to it.",
		Buckets:        metrics.ExponentialBuckets(0.01, 2, 20),
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

// registerMetrics adds the scheduler's metrics to the legacy registry, which the server
// serves on /metrics.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(reconcileDuration, runsCreated, scheduleLag)
	})
}
