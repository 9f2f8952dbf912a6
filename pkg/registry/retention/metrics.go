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

package retention

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

func counter(name, help string) *metrics.Counter {
	return metrics.NewCounter(&metrics.CounterOpts{
		Namespace: "pipelines", Subsystem: "retention", Name: name, Help: help, StabilityLevel: metrics.ALPHA,
	})
}

var (
	runsArchived     = counter("runs_archived_total", "Finished runs the retention policies archived.")
	runsDeleted      = counter("runs_deleted_total", "Archived runs the retention policies deleted.")
	workflowsDeleted = counter("workflows_deleted_total", "Argo Workflows deleted with the runs that owned them.")
	retentionErrors  = counter("errors_total", "Runs the retention policies could not archive or delete (tried again in a later batch).")
	batchDuration    = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace: "pipelines", Subsystem: "retention", Name: "batch_duration_seconds",
		Help:           "How long one batch of retention took, from reading the namespaces' policies to the last run.",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 18),
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

// registerMetrics adds retention's metrics to the legacy registry, which the server
// serves on /metrics.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(runsArchived, runsDeleted, workflowsDeleted, retentionErrors, batchDuration)
	})
}
