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

// This file runs the storage conformance suite that Kubernetes wrote for its etcd3
// store (k8s.io/apiserver/pkg/storage/testing) against this engine, on a real MariaDB.
//
// Every exported Run* function of that package is called below except these, each
// for the reason given:
//   - RunTestGetListWithErrorAggregation: it checks etcd3's corrupt-object error
//     aggregation, whose expected errors are values of etcd3's unexported
//     corruptObjectError type that no other engine can produce. This engine aborts a
//     list on the first item the transformer cannot read, which
//     RunTestGetListWithoutErrorAggregation checks (one the codec cannot decode is left
//     out instead: corrupt.go).
//   - RunBenchmarkWriteThroughput, RunBenchmarkStoreList, RunBenchmarkStoreStats are
//     benchmarks, not tests: bench_test.go runs them.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/features"
	storagetesting "k8s.io/apiserver/pkg/storage/testing"
	"k8s.io/apiserver/pkg/storage/value"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

const testPrefix = "test!"

func init() {
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	utilruntime.Must(example.AddToScheme(scheme))
	utilruntime.Must(examplev1.AddToScheme(scheme))
}

func TestMain(m *testing.M) {
	code := m.Run()
	mysqltesting.StopSharedServer()
	os.Exit(code)
}

// podAttrs exposes spec.nodeName, which the pods table indexes: the conformance
// lists that filter on it go through the SQL column path.
func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	pod, ok := obj.(*example.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("not a pod: %T", obj)
	}
	return labels.Set(pod.Labels), fields.Set{
		"metadata.name":      pod.Name,
		"metadata.namespace": pod.Namespace,
		"spec.nodeName":      pod.Spec.NodeName,
	}, nil
}

var podsTable = Table{ResourcePrefix: "/pods", Name: "pods", Columns: []Column{
	{Field: "spec.nodeName", Name: "node_name", Size: 253},
}}

type setup struct {
	codec       runtime.Codec
	transformer value.Transformer
	prefix      string
	dsn         string
}

type setupOption func(*setup)

func withCodec(c runtime.Codec) setupOption           { return func(s *setup) { s.codec = c } }
func withTransformer(t value.Transformer) setupOption { return func(s *setup) { s.transformer = t } }

// testBackend opens a backend on a fresh database (or on dsn, when sharing one), with
// the configuration changes given.
func testBackend(t testing.TB, dsn string, changes ...func(*Config)) *Backend {
	t.Helper()
	if dsn == "" {
		dsn = mysqltesting.SharedServer(t).NewDatabase(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := Config{
		DSN:              dsn,
		PollInterval:     20 * time.Millisecond,
		BookmarkInterval: time.Second,
		TTLSweepInterval: 100 * time.Millisecond,
		Tables:           []Table{podsTable},
	}
	for _, change := range changes {
		change(&cfg)
	}
	b, err := NewBackend(ctx, cfg)
	if err != nil {
		t.Fatalf("NewBackend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func testSetup(t testing.TB, opts ...setupOption) (context.Context, *store) {
	t.Helper()
	cfg := setup{
		codec:       apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion),
		transformer: storagetesting.NewPrefixTransformer([]byte(testPrefix), false),
	}
	for _, o := range opts {
		o(&cfg)
	}
	b := testBackend(t, cfg.dsn)
	return context.Background(), newPodStore(t, b, cfg)
}

func newPodStore(t testing.TB, b *Backend, cfg setup) *store {
	t.Helper()
	s, err := b.NewStore(context.Background(), StoreOptions{
		Codec:          cfg.codec,
		Transformer:    cfg.transformer,
		Prefix:         cfg.prefix,
		ResourcePrefix: "/pods/",
		GroupResource:  schema.GroupResource{Resource: "pods"},
		NewFunc:        func() runtime.Object { return &example.Pod{} },
		NewListFunc:    func() runtime.Object { return &example.PodList{} },
		GetAttrs:       podAttrs,
	})
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	return s.(*store)
}

// checkStorageInvariants reads the row behind key straight from MySQL.
func checkStorageInvariants(s *store) storagetesting.KeyValidation {
	return func(ctx context.Context, t *testing.T, key string) {
		rev, stored, err := s.readRow(ctx, key)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		if rev == 0 {
			t.Fatalf("expecting a row for key %s", key)
		}
		if len(stored) < len(testPrefix) || string(stored[:len(testPrefix)]) != testPrefix {
			t.Fatalf("stored value of %s lacks the transformer's prefix: %q", key, stored)
		}
		decoded, err := runtime.Decode(s.codec, stored[len(testPrefix):])
		if err != nil {
			t.Fatalf("decoding the stored value of %s: %v", key, err)
		}
		obj := decoded.(*example.Pod)
		if obj.ResourceVersion != "" {
			t.Errorf("stored object should have an empty resource version")
		}
		//lint:ignore SA1019 the upstream suite checks that storage clears the legacy selfLink too.
		if obj.SelfLink != "" {
			t.Errorf("stored object should have an empty selfLink")
		}
	}
}

// increaseRV commits a change to another resource on the same database.
func increaseRV(s *store) storagetesting.IncreaseRVFunc {
	other, err := s.b.NewStore(context.Background(), StoreOptions{
		Codec:          s.codec,
		ResourcePrefix: "/increase/",
		NewFunc:        func() runtime.Object { return &example.Pod{} },
		NewListFunc:    func() runtime.Object { return &example.PodList{} },
	})
	if err != nil {
		panic(err)
	}
	var n atomic.Int64
	return func(ctx context.Context, t *testing.T) int64 {
		out := &example.Pod{}
		name := fmt.Sprintf("rv-%d", n.Add(1))
		if err := other.Create(ctx, "/increase/"+name, &example.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}, out, 0); err != nil {
			t.Fatalf("increasing the revision: %v", err)
		}
		rv, err := s.versioner.ParseResourceVersion(out.ResourceVersion)
		if err != nil {
			t.Fatal(err)
		}
		return int64(rv)
	}
}

func compactStorage(s *store) storagetesting.Compaction {
	return func(ctx context.Context, t *testing.T, resourceVersion string) {
		rv, err := s.versioner.ParseResourceVersion(resourceVersion)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.b.CurrentRevision(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.b.Compact(ctx, int64(rv)); err != nil {
			t.Fatalf("compacting at %d: %v", rv, err)
		}
	}
}

// storeWithPrefixTransformer lets tests swap the PrefixTransformer.
type storeWithPrefixTransformer struct{ *store }

func (s storeWithPrefixTransformer) UpdatePrefixTransformer(modifier storagetesting.PrefixTransformerModifier) func() {
	orig := s.getTransformer()
	copied := *orig.(*storagetesting.PrefixTransformer)
	s.setTransformer(modifier(&copied))
	return func() { s.setTransformer(orig) }
}

// storeWithTransformerOverride lets tests wrap the transformer.
type storeWithTransformerOverride struct{ *store }

func (s storeWithTransformerOverride) UpdateTransformer(modifier storagetesting.TransformerModifier) func() {
	orig := s.getTransformer()
	s.setTransformer(modifier(orig))
	return func() { s.setTransformer(orig) }
}

type failingTransformer struct {
	value.Transformer
	fail atomic.Bool
}

func (f *failingTransformer) TransformFromStorage(ctx context.Context, data []byte, dataCtx value.Context) ([]byte, bool, error) {
	if f.fail.Load() {
		return nil, false, errors.New("synthetic error")
	}
	return f.Transformer.TransformFromStorage(ctx, data, dataCtx)
}

type failingCodec struct {
	runtime.Codec
	fail atomic.Bool
}

func (f *failingCodec) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if f.fail.Load() {
		return nil, nil, errors.New("synthetic error")
	}
	return f.Codec.Decode(data, defaults, into)
}

// noCallsValidation: etcd3 counts its range reads here with a recorder around the etcd
// client. The lists' results, which the suite checks in full, are what matters here.
func noCallsValidation(t *testing.T, pageSize, estimatedProcessedObjects uint64) {}

func TestCreate(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestCreate(ctx, t, s, checkStorageInvariants(s))
}

func TestCreateWithTTL(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestCreateWithTTL(ctx, t, s)
}

func TestCreateWithKeyExist(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestCreateWithKeyExist(ctx, t, s)
}

func TestGet(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGet(ctx, t, s)
}

func TestUnconditionalDelete(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestUnconditionalDelete(ctx, t, s)
}

func TestConditionalDelete(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestConditionalDelete(ctx, t, s)
}

func TestDeleteWithSuggestion(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteWithSuggestion(ctx, t, s)
}

func TestDeleteWithSuggestionAndConflict(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteWithSuggestionAndConflict(ctx, t, s)
}

func TestDeleteWithSuggestionOfDeletedObject(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteWithSuggestionOfDeletedObject(ctx, t, s)
}

func TestValidateDeletionWithSuggestion(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestValidateDeletionWithSuggestion(ctx, t, s)
}

func TestValidateDeletionWithOnlySuggestionValid(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestValidateDeletionWithOnlySuggestionValid(ctx, t, s)
}

func TestDeleteWithConflict(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteWithConflict(ctx, t, s)
}

func TestPreconditionalDeleteWithSuggestion(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestPreconditionalDeleteWithSuggestion(ctx, t, s)
}

func TestPreconditionalDeleteWithOnlySuggestionPass(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestPreconditionalDeleteWithOnlySuggestionPass(ctx, t, s)
}

func TestDeleteWithConflictAndMissingExpectedTransformOrDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	codec := &failingCodec{Codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
	ctx, s := testSetup(t, withCodec(codec))
	storagetesting.RunTestDeleteWithConflictAndMissingExpectedTransformOrDecodeError(ctx, t, s, codec.fail.Store)
}

func TestDeleteExpectedTransformError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	tr := &failingTransformer{Transformer: storagetesting.NewPrefixTransformer([]byte(testPrefix), false)}
	ctx, s := testSetup(t, withTransformer(tr))
	storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, s, tr.fail.Store)
}

func TestDeleteExpectedDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	codec := &failingCodec{Codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
	ctx, s := testSetup(t, withCodec(codec))
	storagetesting.RunTestDeleteExpectedTransformOrDecodeError(ctx, t, s, codec.fail.Store)
}

func TestDeleteWithSuggestionAndMissingExpectedTransformOrDecodeError(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteWithSuggestionAndMissingExpectedTransformOrDecodeError(ctx, t, s)
}

func TestList(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestList(ctx, t, s, compactStorage(s), false, nil)
}

func TestConsistentList(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestConsistentList(ctx, t, s, increaseRV(s), false, true, false)
}

func TestGetListNonRecursive(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGetListNonRecursive(ctx, t, increaseRV(s), s)
}

func TestGetListRecursivePrefix(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGetListRecursivePrefix(ctx, t, s)
}

func TestGetListWithoutErrorAggregation(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, false)
	ctx, s := testSetup(t)
	storagetesting.RunTestGetListWithoutErrorAggregation(ctx, t, storeWithTransformerOverride{s}, errors.New("bits flipped"))
}

func TestListContinuation(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListContinuation(ctx, t, s, noCallsValidation)
}

func TestListPaginationRareObject(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListPaginationRareObject(ctx, t, s, noCallsValidation)
}

func TestListContinuationWithFilter(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListContinuationWithFilter(ctx, t, s, noCallsValidation)
}

func TestListInconsistentContinuation(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListInconsistentContinuation(ctx, t, s, compactStorage(s))
}

func TestListResourceVersionMatch(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListResourceVersionMatch(ctx, t, storeWithPrefixTransformer{s})
}

func TestGuaranteedUpdate(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGuaranteedUpdate(ctx, t, storeWithPrefixTransformer{s}, checkStorageInvariants(s))
}

func TestGuaranteedUpdateWithTTL(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithTTL(ctx, t, s)
}

func TestGuaranteedUpdateChecksStoredData(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGuaranteedUpdateChecksStoredData(ctx, t, storeWithPrefixTransformer{s})
}

func TestGuaranteedUpdateWithConflict(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithConflict(ctx, t, s)
}

func TestGuaranteedUpdateWithSuggestionAndConflict(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestGuaranteedUpdateWithSuggestionAndConflict(ctx, t, s)
}

func TestTransformationFailure(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestTransformationFailure(ctx, t, storeWithPrefixTransformer{s})
}

func TestStats(t *testing.T) {
	for _, sizeEnabled := range []bool{true, false} {
		t.Run(fmt.Sprintf("SizeBasedListCostEstimate=%v", sizeEnabled), func(t *testing.T) {
			ctx, s := testSetup(t)
			if sizeEnabled {
				if err := s.EnableResourceSizeEstimation(func(context.Context) ([]string, error) { return nil, nil }); err != nil {
					t.Fatal(err)
				}
			}
			storagetesting.RunTestStats(ctx, t, s, s.codec, s.getTransformer(), sizeEnabled)
		})
	}
}

func TestListPaging(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestListPaging(ctx, t, s)
}

func TestNamespaceScopedList(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestNamespaceScopedList(ctx, t, s)
}

func TestCompactRevision(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestCompactRevision(ctx, t, s, increaseRV(s), compactStorage(s))
}

func TestKeySchema(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestKeySchema(ctx, t, s)
}

func TestWatch(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatch(ctx, t, s)
}

func TestClusterScopedWatch(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestClusterScopedWatch(ctx, t, s)
}

func TestNamespaceScopedWatch(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestNamespaceScopedWatch(ctx, t, s)
}

func TestDeleteTriggerWatch(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDeleteTriggerWatch(ctx, t, s)
}

func TestWatchFromZero(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchFromZero(ctx, t, s, compactStorage(s))
}

func TestWatchFromNonZero(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchFromNonZero(ctx, t, s)
}

func TestDelayedWatchDelivery(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestDelayedWatchDelivery(ctx, t, s)
}

func TestWatchError(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchError(ctx, t, storeWithPrefixTransformer{s})
}

func TestWatchWithUnsafeDelete(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.AllowUnsafeMalformedObjectDeletion, true)
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchWithUnsafeDelete(ctx, t, storeWithTransformerOverride{s}, errors.New("bits flipped"))
}

func TestWatchContextCancel(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchContextCancel(ctx, t, s)
}

func TestWatcherTimeout(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatcherTimeout(ctx, t, s)
}

func TestWatchDeleteEventObjectHaveLatestRV(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchDeleteEventObjectHaveLatestRV(ctx, t, s)
}

func TestWatchInitializationSignal(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchInitializationSignal(ctx, t, s)
}

func TestProgressNotify(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunOptionalTestProgressNotify(ctx, t, s, increaseRV(s))
}

// This engine sends bookmarks to watches that allow them (every BookmarkInterval),
// so the suite's "expected" flag is true, unlike for etcd3.
func TestWatchDispatchBookmarkEvents(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestWatchDispatchBookmarkEvents(ctx, t, s, true)
}

func TestWatchBookmarksWithCorrectResourceVersion(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunTestOptionalWatchBookmarksWithCorrectResourceVersion(ctx, t, s)
}

func TestSendInitialEventsBackwardCompatibility(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunSendInitialEventsBackwardCompatibility(ctx, t, s)
}

func TestWatchSemantics(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunWatchSemantics(ctx, t, s)
}

func TestWatchSemanticInitialEventsExtended(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunWatchSemanticInitialEventsExtended(ctx, t, s)
}

func TestWatchListMatchSingle(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunWatchListMatchSingle(ctx, t, s)
}

func TestWatchErrorIsBlockingFurtherEvents(t *testing.T) {
	ctx, s := testSetup(t)
	storagetesting.RunWatchErrorIsBlockingFurtherEvents(ctx, t, storeWithPrefixTransformer{s})
}
