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
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// TestBulkLoad checks that bulk-loaded objects are indistinguishable from created ones:
// lists (also through the indexed column) and gets find them at their revisions, a
// watch from before the load sees them ADDED in order, and the next Create continues
// after them.
func TestBulkLoad(t *testing.T) {
	b := testBackend(t, "")
	codec := apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)
	s := newPodStore(t, b, setup{codec: codec})
	ctx := context.Background()

	before, err := s.GetCurrentResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: strconv.FormatUint(before, 10), Recursive: true, Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	const n = bulkBatch + 7 // more than one INSERT
	objs := make([]BulkObject, 0, n)
	for i := range n {
		pod := &example.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p-%04d", i)},
			Spec:       example.PodSpec{NodeName: "node-" + strconv.Itoa(i%3)},
		}
		data, err := runtime.Encode(codec, pod)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, BulkObject{Key: "/pods/ns/" + pod.Name, Value: data, Columns: [][]byte{[]byte(pod.Spec.NodeName)}})
	}
	last, err := BulkLoad(ctx, b.db, podsTable, objs)
	if err != nil {
		t.Fatalf("BulkLoad: %v", err)
	}
	if want := int64(before) + n; last != want {
		t.Errorf("last revision %d, want %d", last, want)
	}

	var all example.PodList
	if err := s.GetList(ctx, "/pods/ns/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != n {
		t.Fatalf("listed %d pods, want %d", len(all.Items), n)
	}
	if got, want := all.Items[n-1].ResourceVersion, strconv.FormatInt(last, 10); got != want {
		t.Errorf("last pod has resourceVersion %s, want %s", got, want)
	}
	var onNode example.PodList
	pred := storage.SelectionPredicate{Label: labels.Everything(), Field: fields.OneTermEqualSelector("spec.nodeName", "node-1"), GetAttrs: podAttrs}
	if err := s.GetList(ctx, "/pods/ns/", storage.ListOptions{Recursive: true, Predicate: pred}, &onNode); err != nil {
		t.Fatal(err)
	}
	if want := (n + 1) / 3; len(onNode.Items) != want {
		t.Errorf("listed %d pods on node-1, want %d", len(onNode.Items), want)
	}
	var got example.Pod
	if err := s.Get(ctx, "/pods/ns/p-0002", storage.GetOptions{}, &got); err != nil || got.Spec.NodeName != "node-2" {
		t.Errorf("Get p-0002: %v, node %q", err, got.Spec.NodeName)
	}

	for i := range n {
		select {
		case ev := <-w.ResultChan():
			pod, ok := ev.Object.(*example.Pod)
			if ev.Type != watch.Added || !ok || pod.Name != fmt.Sprintf("p-%04d", i) {
				t.Fatalf("event %d: %s %#v, want ADDED p-%04d", i, ev.Type, ev.Object, i)
			}
		case <-time.After(wait.ForeverTestTimeout):
			t.Fatalf("no event %d", i)
		}
	}

	next := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "created"}}
	if err := s.Create(ctx, "/pods/ns/created", next, next, 0); err != nil {
		t.Fatal(err)
	}
	if rv, _ := strconv.ParseInt(next.ResourceVersion, 10, 64); rv <= last {
		t.Errorf("a Create after the load got revision %d, not after %d", rv, last)
	}
	if _, err := BulkLoad(ctx, b.db, podsTable, objs[:1]); err == nil {
		t.Error("loading an existing key succeeded")
	}
	if _, err := BulkLoad(ctx, b.db, podsTable, []BulkObject{{Key: "/pods/ns/x", Value: []byte("{}")}}); err == nil {
		t.Error("an object without its column values was loaded")
	}
}

// TestStatsReadsABoundedPart: Stats runs every minute for the storage-objects metric, so
// past statsCounted keys it must not read the resource: it reports InnoDB's estimate.
// (It counted and summed every stored value: more than 30 s at 10M runs.)
func TestStatsReadsABoundedPart(t *testing.T) {
	b := testBackend(t, "")
	codec := apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)
	s := newPodStore(t, b, setup{codec: codec})
	ctx := context.Background()
	const n = 3 * statsCounted
	objs := make([]BulkObject, 0, bulkBatch)
	for i := range n {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p-%06d", i)}}
		data, err := runtime.Encode(codec, pod)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, BulkObject{Key: "/pods/ns/" + pod.Name, Value: data, Columns: [][]byte{[]byte("node-0")}})
		if len(objs) == bulkBatch || i == n-1 {
			if _, err := BulkLoad(ctx, b.db, podsTable, objs); err != nil {
				t.Fatal(err)
			}
			objs = objs[:0]
		}
	}
	if _, err := b.db.ExecContext(ctx, "ANALYZE TABLE pods"); err != nil {
		t.Fatal(err)
	}
	// Rows the handlers read, by key and in sequence, across the server.
	rowsRead := func() int64 {
		var v int64
		if err := b.db.QueryRowContext(ctx, "SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS"+
			" WHERE VARIABLE_NAME IN ('HANDLER_READ_NEXT', 'HANDLER_READ_KEY', 'HANDLER_READ_RND_NEXT')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := rowsRead()
	stats, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The bounded count reads statsCounted rows and its derived table as many again; the
	// counters are the server's, so the tail's polls count too. Reading every row, and
	// every row's value, reads 2n.
	if read := rowsRead() - before; read >= n {
		t.Errorf("Stats read %d rows of %d stored; want about %d", read, n, 2*statsCounted)
	}
	// InnoDB's estimate is a sample's: within half of the truth.
	if stats.ObjectCount < statsCounted || stats.ObjectCount < n/2 || stats.ObjectCount > 2*n {
		t.Errorf("ObjectCount %d, stored %d", stats.ObjectCount, n)
	}
}

// TestBackfillResumesAfterInterruption: a column added to a table with rows is filled from
// the stored objects; a backfill cut short (here after 10 rows) is done again at the next
// start, so that no row stays out of a selector on the column. (It was not: the column
// existed by then, so nothing was filled, and those rows were never found by it.)
func TestBackfillResumesAfterInterruption(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	before := testBackend(t, dsn, func(c *Config) { c.Tables = []Table{{ResourcePrefix: "/pods", Name: "pods"}} })
	s := newPodStore(t, before, defaultSetup())
	ctx := context.Background()
	const n = 30
	for i := range n {
		p := podNamed("ns", fmt.Sprintf("p%02d", i), "node-"+strconv.Itoa(i%3), nil)
		if err := s.Create(ctx, "/pods/ns/"+p.Name, p, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	backfillInterrupt = func(rows int) error {
		if rows == 10 {
			return errors.New("interrupted")
		}
		return nil
	}
	_, err := testBackend(t, dsn).NewStore(ctx, StoreOptions{Codec: defaultSetup().codec, Transformer: defaultSetup().transformer,
		ResourcePrefix: "/pods/", GroupResource: schema.GroupResource{Resource: "pods"},
		NewFunc: func() runtime.Object { return &example.Pod{} }, NewListFunc: func() runtime.Object { return &example.PodList{} },
		GetAttrs: podAttrs})
	backfillInterrupt = nil
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("the interrupted backfill: %v", err)
	}
	after := newPodStore(t, testBackend(t, dsn), defaultSetup())
	out := &example.PodList{}
	pred := storage.SelectionPredicate{Label: labels.Everything(), Field: fields.OneTermEqualSelector("spec.nodeName", "node-1"), GetAttrs: podAttrs}
	if err := after.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: pred}, out); err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != n/3 {
		t.Errorf("spec.nodeName=node-1 found %d pods, want %d", len(out.Items), n/3)
	}
	var markers int
	if err := after.b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+metaTable+" WHERE name LIKE 'backfill %'").Scan(&markers); err != nil || markers != 0 {
		t.Errorf("backfill markers left: %d, %v", markers, err)
	}
}

// TestSnapshotIsolation: a read transaction leaves the isolation level alone only when the
// sessions already run at REPEATABLE READ, which the snapshot of a list needs.
func TestSnapshotIsolation(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	for _, tc := range []struct {
		param, level string
		want         sql.IsolationLevel
	}{
		{"", "REPEATABLE-READ", sql.LevelDefault},
		{"tx_isolation=%27READ-COMMITTED%27", "READ-COMMITTED", sql.LevelRepeatableRead},
	} {
		d := dsn
		if tc.param != "" {
			sep := "?"
			if strings.Contains(d, "?") {
				sep = "&"
			}
			d += sep + tc.param
		}
		db, err := sql.Open("mysql", d)
		if err != nil {
			t.Fatal(err)
		}
		var level string
		if err := db.QueryRow("SELECT @@SESSION.tx_isolation").Scan(&level); err != nil || level != tc.level {
			t.Fatalf("sessions at %q (%v), want %s", level, err, tc.level)
		}
		if got := snapshotIsolationFor(context.Background(), db); got != tc.want {
			t.Errorf("sessions at %s (%q): %v, want %v", level, tc.param, got, tc.want)
		}
		_ = db.Close()
	}
}
