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
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// TestListAtTheNewestRevision: a list at the newest revision is one statement when the
// tail has resolved every revision that statement's snapshot holds, whether it counts the
// rest of its range, filters on a column or reads a whole range. It falls back to a
// snapshot, with the same answer, where one statement cannot answer: a page that needs
// more than its first batch, an empty range, and a write of another replica that the
// tail has not read yet, which the list must include all the same.
func TestListAtTheNewestRevision(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	// This replica's tail reads the log only when poked, so that another replica's write
	// stays unresolved here until a list asks for it.
	b := testBackend(t, mysqltesting.NodeDSN(dsn, 0), func(c *Config) { c.PollInterval = time.Hour })
	s := newPodStore(t, b, defaultSetup())
	other := newPodStore(t, testBackend(t, mysqltesting.NodeDSN(dsn, 1)), defaultSetup())
	ctx := context.Background()
	const pods = 30
	for i := range pods {
		p := podNamed("a", fmt.Sprintf("p%02d", i), nodes[i%len(nodes)], map[string]string{"edge": strconv.FormatBool(i == 0 || i == pods-1)})
		if err := s.Create(ctx, podKey(p), p, &example.Pod{}, 0); err != nil {
			t.Fatal(err)
		}
	}
	current, err := b.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byNode := []Column{podsTable.Columns[0]}
	var (
		latest        = s.stmts.latestListStatement(podsTable.Name, nil, false)
		latestCounted = s.stmts.latestListStatement(podsTable.Name, nil, true)
		latestByNode  = s.stmts.latestListStatement(podsTable.Name, byNode, false)
		snapshotPage  = s.stmts.listStatement(podsTable.Name, nil)
	)
	counted := []statement{latest, latestCounted, latestByNode, snapshotPage, stmtMaxRevision, stmtChangesAfter, s.stmts.count}
	countAll := func() map[string]uint64 {
		n := map[string]uint64{}
		for _, st := range counted {
			n[st.name] = statementCount(t, st)
		}
		return n
	}
	label := func(sel string) labels.Selector {
		l, err := labels.Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	for _, tc := range []struct {
		name      string
		prefix    string
		pred      storage.SelectionPredicate
		items     int
		remaining int64 // -1: none
		// ran is how many times each statement of counted runs; the others do not.
		ran map[string]uint64
	}{
		{"a page that counts the rest", "/pods/a/",
			storage.SelectionPredicate{Label: labels.Everything(), Field: fields.Everything(), Limit: 10, GetAttrs: podAttrs},
			10, pods - 10, map[string]uint64{latestCounted.name: 1}},
		{"a page by an indexed field", "/pods/a/",
			storage.SelectionPredicate{Label: labels.Everything(), Field: fields.OneTermEqualSelector("spec.nodeName", nodes[0]), Limit: 4, GetAttrs: podAttrs},
			4, -1, map[string]uint64{latestByNode.name: 1}},
		{"a whole range", "/pods/a/", storage.Everything, pods, -1, map[string]uint64{latest.name: 1}},
		// The first batch (the page and one more: 3 rows) holds one of the two matches; the
		// snapshot reads the range again at the revision already known, in batches of 3, 6,
		// 12 and 24, and the list holds each match once.
		{"a page that needs a second batch", "/pods/a/",
			storage.SelectionPredicate{Label: label("edge=true"), Field: fields.Everything(), Limit: 2, GetAttrs: podAttrs},
			2, -1, map[string]uint64{latest.name: 1, stmtChangesAfter.name: 1, snapshotPage.name: 4}},
		{"an empty range", "/pods/none/", storage.Everything, 0, -1,
			map[string]uint64{latest.name: 1, stmtMaxRevision.name: 1, stmtChangesAfter.name: 1, snapshotPage.name: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countAll()
			out := &example.PodList{}
			if err := s.GetList(ctx, tc.prefix, storage.ListOptions{Recursive: true, Predicate: tc.pred}, out); err != nil {
				t.Fatal(err)
			}
			if len(out.Items) != tc.items || out.ResourceVersion != strconv.FormatInt(current, 10) {
				t.Errorf("%d items at revision %s, want %d at %d", len(out.Items), out.ResourceVersion, tc.items, current)
			}
			for i := 1; i < len(out.Items); i++ {
				if out.Items[i-1].Name >= out.Items[i].Name {
					t.Errorf("items %s and %s out of key order or repeated", out.Items[i-1].Name, out.Items[i].Name)
				}
			}
			switch {
			case tc.remaining < 0 && out.RemainingItemCount != nil:
				t.Errorf("remainingItemCount %d, want none", *out.RemainingItemCount)
			case tc.remaining >= 0 && (out.RemainingItemCount == nil || *out.RemainingItemCount != tc.remaining):
				t.Errorf("remainingItemCount %v, want %d", out.RemainingItemCount, tc.remaining)
			}
			after := countAll()
			for _, st := range counted {
				if got := after[st.name] - before[st.name]; got != tc.ran[st.name] {
					t.Errorf("statement %s ran %d times, want %d", st.name, got, tc.ran[st.name])
				}
			}
		})
	}

	t.Run("a page in the order of an indexed field", func(t *testing.T) {
		ordered := orderedLatestStatement(podsTable, podsTable.Columns[0])
		before, orderedBefore := countAll(), statementCount(t, ordered)
		out := &example.PodList{}
		pred := storage.Everything
		pred.Limit = 5
		if err := s.GetListInOrder(ctx, "/pods/a", ListOrder{Field: "spec.nodeName"}, storage.ListOptions{Recursive: true, Predicate: pred}, out); err != nil {
			t.Fatal(err)
		}
		first := ""
		if len(out.Items) > 0 {
			first = out.Items[0].Spec.NodeName
		}
		if len(out.Items) != 5 || first != nodes[0] || out.Continue == "" || out.ResourceVersion != strconv.FormatInt(current, 10) {
			t.Errorf("%d items at revision %s, first on %q, continue %q: want 5 at %d, first on %s, and more",
				len(out.Items), out.ResourceVersion, first, out.Continue, current, nodes[0])
		}
		after := countAll()
		for _, st := range counted {
			if got := after[st.name] - before[st.name]; got != 0 {
				t.Errorf("statement %s ran %d times, want 0", st.name, got)
			}
		}
		if got := statementCount(t, ordered) - orderedBefore; got != 1 {
			t.Errorf("statement %s ran %d times, want 1", ordered.name, got)
		}
	})

	t.Run("a page in order that needs a second batch", func(t *testing.T) {
		ordered, orderedSnapshot := orderedLatestStatement(podsTable, podsTable.Columns[0]), orderedListStatement(podsTable, podsTable.Columns[0])
		before, latestBefore, snapshotBefore := countAll(), statementCount(t, ordered), statementCount(t, orderedSnapshot)
		out := &example.PodList{}
		// The first batch (p00, p03, p06, on the first node) holds one of the two matches.
		pred := storage.SelectionPredicate{Label: label("edge=true"), Field: fields.Everything(), Limit: 2, GetAttrs: podAttrs}
		if err := s.GetListInOrder(ctx, "/pods/a", ListOrder{Field: "spec.nodeName"}, storage.ListOptions{Recursive: true, Predicate: pred}, out); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range out.Items {
			names = append(names, p.Name)
		}
		if want := []string{"p00", fmt.Sprintf("p%02d", pods-1)}; !slices.Equal(names, want) || out.ResourceVersion != strconv.FormatInt(current, 10) {
			t.Errorf("%v at revision %s, want %v at %d", names, out.ResourceVersion, want, current)
		}
		after := countAll()
		if got := after[stmtMaxRevision.name] - before[stmtMaxRevision.name]; got != 0 {
			t.Errorf("statement %s ran %d times, want 0: the revision is known", stmtMaxRevision.name, got)
		}
		if got := after[stmtChangesAfter.name] - before[stmtChangesAfter.name]; got != 1 {
			t.Errorf("statement %s ran %d times, want 1", stmtChangesAfter.name, got)
		}
		if got := statementCount(t, ordered) - latestBefore; got != 1 {
			t.Errorf("statement %s ran %d times, want 1", ordered.name, got)
		}
		if got := statementCount(t, orderedSnapshot) - snapshotBefore; got == 0 {
			t.Errorf("statement %s did not run: the snapshot read nothing", orderedSnapshot.name)
		}
	})

	t.Run("a write this replica's tail has not read", func(t *testing.T) {
		p := podNamed("a", "from-the-other-replica", nodes[0], nil)
		created := &example.Pod{}
		if err := other.Create(ctx, podKey(p), p, created, 0); err != nil {
			t.Fatal(err)
		}
		if resolved := b.tail.resolvedRevision(); resolved >= podRev(t, created) {
			t.Fatalf("the tail resolved %d, past the other replica's write at %s: the test needs it behind", resolved, created.ResourceVersion)
		}
		before := countAll()
		out := &example.PodList{}
		if err := s.GetList(ctx, "/pods/a/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, out); err != nil {
			t.Fatal(err)
		}
		rev, err := strconv.ParseInt(out.ResourceVersion, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) != pods+1 || rev < podRev(t, created) {
			t.Errorf("%d items at revision %d, want %d at %s or later", len(out.Items), rev, pods+1, created.ResourceVersion)
		}
		after := countAll()
		for _, st := range []statement{latest, stmtMaxRevision, stmtChangesAfter, snapshotPage} {
			if got := after[st.name] - before[st.name]; got != 1 {
				t.Errorf("statement %s ran %d times, want 1", st.name, got)
			}
		}
	})
}
