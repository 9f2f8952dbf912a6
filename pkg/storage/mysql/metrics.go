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
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const metricsSubsystem = "mysql_storage"

var (
	statementDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "statement_duration_seconds",
		Help:           "Latency of SQL statements by statement name.",
		Buckets:        []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		StabilityLevel: metrics.ALPHA,
	}, []string{"statement"})
	statementErrors = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "statement_errors_total",
		Help:           "SQL statements that failed, by statement name and error code.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"statement", "code"})
	tailRevision = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      metricsSubsystem,
		Name:           "tail_revision",
		Help:           "Highest revision up to which this process has read the change log without gaps.",
		StabilityLevel: metrics.ALPHA,
	})
	gapsFilled = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "gaps_filled_total",
		Help:           "Revisions of rolled-back transactions that the tail filled so it could move on.",
		StabilityLevel: metrics.ALPHA,
	})
	watchEvents = metrics.NewCounter(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "watch_events_dispatched_total",
		Help:           "Change-log events handed to watchers.",
		StabilityLevel: metrics.ALPHA,
	})
	watchers = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      metricsSubsystem,
		Name:           "watchers",
		Help:           "Open watches served by this process.",
		StabilityLevel: metrics.ALPHA,
	})
	slowWatchersClosed = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "slow_watchers_closed_total",
		Help:           "Watches ended because their client fell further behind than the watch queue limit, by resource.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"resource"})
	compactedRevision = metrics.NewGauge(&metrics.GaugeOpts{
		Subsystem:      metricsSubsystem,
		Name:           "compacted_revision",
		Help:           "Revision below which history has been compacted.",
		StabilityLevel: metrics.ALPHA,
	})
	createBatchSize = metrics.NewHistogram(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "create_batch_size",
		Help:           "Creates written together in one transaction, for batches of more than one.",
		Buckets:        []float64{2, 4, 8, 16},
		StabilityLevel: metrics.ALPHA,
	})
	compactionDuration = metrics.NewHistogram(&metrics.HistogramOpts{
		Subsystem:      metricsSubsystem,
		Name:           "compaction_duration_seconds",
		Help:           "Duration of one history compaction.",
		Buckets:        metrics.ExponentialBuckets(0.01, 4, 8),
		StabilityLevel: metrics.ALPHA,
	})
)

func init() {
	legacyregistry.MustRegister(statementDuration, statementErrors, tailRevision, gapsFilled,
		watchEvents, watchers, slowWatchersClosed, compactedRevision, compactionDuration, createBatchSize)
}
