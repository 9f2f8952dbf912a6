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
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/example"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// TestIndexedValues: the distinct values of an indexed field, in pages, read by skipping
// through the field's index (MariaDB's loose index scan), not by reading its rows.
func TestIndexedValues(t *testing.T) {
	ctx, s := testSetup(t)
	for i := range 140 {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%02d", i), Namespace: "ns"},
			Spec: example.PodSpec{NodeName: fmt.Sprintf("node-%d", i%7)}}
		if i%10 == 0 {
			pod.Spec.NodeName = "" // no value: never listed
		}
		if err := s.Create(ctx, "/pods/ns/"+pod.Name, pod, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	after := ""
	for {
		page, err := s.IndexedValues(ctx, "spec.nodeName", after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1]
	}
	want := []string{"node-0", "node-1", "node-2", "node-3", "node-4", "node-5", "node-6"}
	if !slices.Equal(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
	if _, err := s.IndexedValues(ctx, "metadata.name", "", 3); err == nil {
		t.Error("values of a field with no column: no error")
	}

	// Rows read: a few per value, however many rows hold it.
	conn, err := s.b.d.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reads := func() int64 {
		var name string
		var n int64
		if err := conn.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Handler_read_next'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := reads()
	var v []byte
	for after := []byte(""); ; after = v {
		err := conn.QueryRowContext(ctx, nextValueStatement(podsTable, podsTable.Columns[0]).text, after).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	n := reads() - before
	t.Logf("walked %d values of 140 rows reading %d index entries past the seeks", len(want), n)
	if n > 3*int64(len(want)) {
		t.Errorf("read %d index entries for %d values of 140 rows", n, len(want))
	}
}

// TestIndexedRange: the keys whose indexed value lies in a range, in (value, key) order,
// at most limit of them, read from one range of the field's index: MariaDB's plan names
// the index and neither a scan of the table nor a sort.
func TestIndexedRange(t *testing.T) {
	ctx, s := testSetup(t)
	for i := range 300 {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%03d", i), Namespace: "ns"},
			Spec: example.PodSpec{NodeName: fmt.Sprintf("t-%03d", 299-i)}}
		if i%3 == 0 {
			pod.Spec.NodeName = ""
		}
		if err := s.Create(ctx, "/pods/ns/"+pod.Name, pod, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	// t-100 .. t-119 are the pods 199 .. 180; those divisible by 3 have no value.
	var want []string
	for i := 199; i >= 180; i-- {
		if i%3 != 0 {
			want = append(want, fmt.Sprintf("ns/p%03d", i))
		}
	}
	for _, limit := range []int{5, 100} {
		got, err := s.IndexedRange(ctx, "spec.nodeName", "t-100", "t-120", limit)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[:min(limit, len(want))]; !slices.Equal(got, w) {
			t.Errorf("limit %d: keys %v, want %v", limit, got, w)
		}
	}
	if got, err := s.IndexedRange(ctx, "spec.nodeName", "t-120", "t-100", 10); err != nil || len(got) != 0 {
		t.Errorf("an empty range: %v, %v", got, err)
	}
	if _, err := s.IndexedRange(ctx, "metadata.name", "a", "b", 3); err == nil {
		t.Error("a range of a field with no column: no error")
	}

	// The plan: a range of the (node_name, k) index, no filesort.
	stmt := rangeStatement(podsTable, podsTable.Columns[0])
	prefix := "/pods/"
	plan := mysqltesting.Explain(ctx, t, s.b.d.db, stmt.text, "t-100", "t-120", prefix, prefixEnd(prefix), 10)
	t.Logf("EXPLAIN %s\n%v", stmt.text, plan)
	if len(plan) != 1 || plan[0]["key"] != "pods_node_name" || plan[0]["type"] != "range" ||
		strings.Contains(plan[0]["Extra"], "filesort") {
		t.Errorf("the range is not read from the index alone: %v", plan)
	}
}

// TestIndexedValueSpan: the first and last keys that hold a value, across namespaces.
func TestIndexedValueSpan(t *testing.T) {
	ctx, s := testSetup(t)
	for _, p := range []struct{ ns, name, node string }{
		{"a", "p1", "only-a"}, {"a", "p2", "only-a"}, {"a", "p3", "both"}, {"b", "p1", "both"}, {"b", "p2", ""},
	} {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: p.ns}, Spec: example.PodSpec{NodeName: p.node}}
		if err := s.Create(ctx, "/pods/"+p.ns+"/"+p.name, pod, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	for value, want := range map[string][2]string{
		"only-a": {"a/p1", "a/p2"},
		"both":   {"a/p3", "b/p1"},
		"none":   {"", ""},
	} {
		first, last, err := s.IndexedValueSpan(ctx, "spec.nodeName", value)
		if err != nil || first != want[0] || last != want[1] {
			t.Errorf("span of %q: %q, %q, %v; want %q, %q", value, first, last, err, want[0], want[1])
		}
	}
	if _, _, err := s.IndexedValueSpan(ctx, "metadata.name", "x"); err == nil {
		t.Error("span of a field with no column: no error")
	}
}
