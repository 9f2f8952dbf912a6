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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/example"
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
