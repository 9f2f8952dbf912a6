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

package run

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// QueueName names the executor's work queue in the workqueue_* metrics (depth, latency,
// retries).
const QueueName = "run_executor"

var (
	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "pipelines",
		Subsystem:      "run_executor",
		Name:           "reconcile_duration_seconds",
		Help:           "How long the run executor took to bring one run and its workflow in line, by result (success, error).",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 15),
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	workflowsCreated = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "pipelines",
		Subsystem:      "run_executor",
		Name:           "workflows_created_total",
		Help:           "Argo Workflows the run executor created, one per run and one per retry.",
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

// registerMetrics adds the executor's metrics to the legacy registry, which the server
// serves on /metrics.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(reconcileDuration, workflowsCreated)
	})
}
