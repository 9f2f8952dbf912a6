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
	"k8s.io/klog/v2"
)

// A row that does not decode (written straight into the database, or by a version that
// wrote something this one cannot read) is corrupt. As in k8s.io/apiserver's etcd3
// store, reading it by name fails with a corrupt-object error (500, reason
// StoreReadError), and an admin deletes it with
// `kubectl delete --ignore-store-read-error-with-cluster-breaking-potential` (gate
// AllowUnsafeMalformedObjectDeletion). Unlike the etcd3 store, lists and watches leave it
// out rather than fail: one corrupt row of a tenant must not stop every informer, and
// with them the controllers, of every other. Each one left out is logged and counted.

var corruptSkipped = metrics.NewCounter(&metrics.CounterOpts{
	Subsystem:      metricsSubsystem,
	Name:           "corrupt_objects_skipped_total",
	Help:           "Stored objects left out of a list or watch because they could not be decoded.",
	StabilityLevel: metrics.ALPHA,
})

func init() {
	legacyregistry.MustRegister(corruptSkipped)
}

// skipCorrupt logs and counts a row a list or watch leaves out. The error names the
// key and the decoder's complaint, never the row's content.
func skipCorrupt(key string, err error) {
	corruptSkipped.Inc()
	klog.ErrorS(err, "Leaving out a stored object that cannot be decoded; read it by name for details, delete it with --ignore-store-read-error-with-cluster-breaking-potential", "key", key)
}

// undecodable is a stored value the codec cannot read (as opposed to one the
// transformer, which decrypts, cannot: that fails the whole list or watch, as in etcd3).
type undecodable struct{ err error }

func (e *undecodable) Error() string { return "undecodable stored object: " + e.err.Error() }
func (e *undecodable) Unwrap() error { return e.err }
