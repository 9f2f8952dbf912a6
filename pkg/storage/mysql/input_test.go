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

// This file feeds the engine hostile input: keys, names, selector values, resource
// versions and continue tokens that try SQL injection, carry bytes SQL treats specially
// (quotes, backslashes, NUL, LIKE wildcards, multi-byte UTF-8) or exceed the size of the
// column they would land in. Input that is legal is stored and matched as literal data;
// input that is not gets a clear error and changes nothing in the database. The second
// half checks the source: no SQL text is built from anything but constants and the
// table and column names that Config.Validate restricts to [a-z0-9_].

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// hostile are strings that end SQL string literals, comment out the rest of a
// statement, escape, truncate or wildcard: as names, namespaces, selector values and
// continue keys they must be stored and compared byte for byte.
var hostile = []string{
	`x'; DROP TABLE pods; --`,
	`x"; DROP TABLE changelog; --`,
	"x`; DROP TABLE storage_meta; -- ",
	`x\'; DELETE FROM pods; #`,
	`' OR '1'='1`,
	`1 OR 1=1`,
	`x' UNION SELECT k, revision, value FROM changelog -- `,
	`back\slash`,
	`\`,
	`\0`,
	"nul\x00byte",
	"trailing-nul\x00",
	"%",
	"_",
	"a%b",
	"a_b",
	"axb", // what a_b would match as a LIKE pattern
	"ünïcödé-名前-😀",
	"trailing-space ",
	"CASE",
	"case",
}

// dbState is what a rejected request must leave untouched: the tables, how many rows
// each holds, and the newest revision handed out.
type dbState struct {
	tables map[string]int64
	maxRev int64
}

func readDBState(t *testing.T, db *sql.DB) dbState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	st := dbState{tables: map[string]int64{}}
	for _, n := range names {
		var c int64
		// Test code: the names come from information_schema and are quoted.
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+strings.ReplaceAll(n, "`", "``")+"`").Scan(&c); err != nil {
			t.Fatal(err)
		}
		st.tables[n] = c
	}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM "+logTable).Scan(&st.maxRev); err != nil {
		t.Fatal(err)
	}
	return st
}

func (a dbState) diff(b dbState) string {
	return cmp.Diff(a, b, cmp.AllowUnexported(dbState{}))
}

// inputSetup opens a Backend and a pod store on a fresh database, and a second pool
// for reading the database behind the engine's back.
func inputSetup(t *testing.T) (*store, *sql.DB) {
	t.Helper()
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	s := newPodStore(t, testBackend(t, dsn), defaultSetup())
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for _, want := range []string{"pods", logTable, metaTable, migrationsTable} {
		var n string
		if err := db.QueryRow("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", want).Scan(&n); err != nil {
			t.Fatalf("table %s is missing before the test starts: %v", want, err)
		}
	}
	return s, db
}

func podNamed(ns, name, node string, lbls map[string]string) *example.Pod {
	return &example.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       example.PodSpec{NodeName: node},
	}
}

func listKeys(t *testing.T, s *store, prefix string, pred storage.SelectionPredicate) []string {
	t.Helper()
	out := &example.PodList{}
	if err := s.GetList(context.Background(), prefix, storage.ListOptions{Recursive: true, Predicate: pred}, out); err != nil {
		t.Fatalf("listing %q: %v", prefix, err)
	}
	var keys []string
	for i := range out.Items {
		keys = append(keys, podKey(&out.Items[i]))
	}
	return keys
}

func fieldPred(field, value string) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: labels.Everything(), Field: fields.OneTermEqualSelector(field, value), GetAttrs: podAttrs}
}

// TestInputHostileValuesAreLiteral stores objects whose names, namespaces, indexed
// field and labels are hostile strings, and checks that each reads back byte for byte,
// that a lookup of one never finds another (no wildcard, collation, escape or
// truncation effects), and that the tables survive.
func TestInputHostileValuesAreLiteral(t *testing.T) {
	s, db := inputSetup(t)
	ctx := context.Background()
	before := readDBState(t, db)

	for i, h := range hostile {
		lbls := map[string]string{"hostile": fmt.Sprint(i)}
		for _, p := range []*example.Pod{
			podNamed("ns", h, h, lbls),                    // hostile name and indexed field
			podNamed(h, "p", fmt.Sprintf("n-%d", i), nil), // hostile namespace
		} {
			key := podKey(p)
			out := &example.Pod{}
			if err := s.Create(ctx, key, p, out, 0); err != nil {
				t.Fatalf("creating %q: %v", key, err)
			}
			got := &example.Pod{}
			if err := s.Get(ctx, key, storage.GetOptions{}, got); err != nil {
				t.Fatalf("reading %q back: %v", key, err)
			}
			if got.Name != p.Name || got.Namespace != p.Namespace || got.Spec.NodeName != p.Spec.NodeName {
				t.Errorf("%q read back as %q/%q on node %q", key, got.Namespace, got.Name, got.Spec.NodeName)
			}
		}
	}

	after := readDBState(t, db)
	if got, want := after.tables["pods"], before.tables["pods"]+int64(2*len(hostile)); got != want {
		t.Errorf("pods holds %d rows, want %d", got, want)
	}
	if len(after.tables) != len(before.tables) {
		t.Errorf("tables changed: %s", before.diff(after))
	}

	var nsKeys []string
	for _, h := range hostile {
		nsKeys = append(nsKeys, "/pods/ns/"+h)
	}
	sort.Strings(nsKeys)
	if diff := cmp.Diff(nsKeys, listKeys(t, s, "/pods/ns/", storage.Everything)); diff != "" {
		t.Errorf("list of /pods/ns/ (-want +got):\n%s", diff)
	}

	for _, h := range hostile {
		// A namespace list returns that namespace alone: "a_b" or "%" match nothing else.
		if diff := cmp.Diff([]string{"/pods/" + h + "/p"}, listKeys(t, s, "/pods/"+h+"/", storage.Everything)); diff != "" {
			t.Errorf("list of namespace %q (-want +got):\n%s", h, diff)
		}
		// The indexed column is compared as bytes: no case folding, no trailing-space
		// padding, no wildcards, no escapes.
		if diff := cmp.Diff([]string{"/pods/ns/" + h}, listKeys(t, s, "/pods/", fieldPred("spec.nodeName", h))); diff != "" {
			t.Errorf("list with spec.nodeName=%q (-want +got):\n%s", h, diff)
		}
		// Label selectors are evaluated on the decoded objects, with the same result.
		pred := storage.SelectionPredicate{
			Label:    labels.SelectorFromValidatedSet(labels.Set{"hostile": h}),
			Field:    fields.Everything(),
			GetAttrs: podAttrs,
		}
		if keys := listKeys(t, s, "/pods/", pred); len(keys) != 0 {
			t.Errorf("label selector hostile=%q matched %v", h, keys)
		}
		// A non-recursive read of a key is that key alone, not every key it prefixes.
		got := &example.Pod{}
		err := s.Get(ctx, "/pods/ns/"+strings.TrimSuffix(h, "\x00"), storage.GetOptions{}, got)
		if strings.HasSuffix(h, "\x00") && !storage.IsNotFound(err) {
			t.Errorf("reading %q without its trailing NUL: got %v, want not found", h, err)
		}
	}
	for i := range hostile {
		pred := storage.SelectionPredicate{
			Label:    labels.SelectorFromValidatedSet(labels.Set{"hostile": fmt.Sprint(i)}),
			Field:    fields.Everything(),
			GetAttrs: podAttrs,
		}
		if diff := cmp.Diff([]string{"/pods/ns/" + hostile[i]}, listKeys(t, s, "/pods/", pred)); diff != "" {
			t.Errorf("label selector hostile=%d (-want +got):\n%s", i, diff)
		}
	}

	// Watches match keys literally too.
	key := "/pods/ns/" + hostile[0]
	w, err := s.Watch(ctx, key, storage.ListOptions{ResourceVersion: "0", Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		if p, ok := ev.Object.(*example.Pod); ev.Type != watch.Added || !ok || podKey(p) != key {
			t.Errorf("watch of %q began with %s %#v", key, ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("watch of %q sent nothing", key)
	}

	// Deleting them all leaves exactly the rows that were there before.
	for _, h := range hostile {
		for _, key := range []string{"/pods/ns/" + h, "/pods/" + h + "/p"} {
			if err := s.Delete(ctx, key, &example.Pod{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{}); err != nil {
				t.Errorf("deleting %q: %v", key, err)
			}
		}
	}
	if got, want := readDBState(t, db).tables["pods"], before.tables["pods"]; got != want {
		t.Errorf("pods holds %d rows after deleting everything, want %d", got, want)
	}
}

// continueToken builds a token as a client could forge it.
func continueToken(t *testing.T, start string, rv int64) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"v": "meta.k8s.io/v1", "rv": rv, "start": start})
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

// TestInputRejectedChangesNothing sends requests that must fail and checks that each
// fails with an error that says what is wrong, and that the database holds the same
// tables, row counts and newest revision afterwards.
func TestInputRejectedChangesNothing(t *testing.T) {
	s, db := inputSetup(t)
	ctx := context.Background()
	var existing []string
	for i := range 5 {
		key := fmt.Sprintf("/pods/ns/p-%d", i)
		if err := s.Create(ctx, key, podNamed("ns", fmt.Sprintf("p-%d", i), "node-a", nil), &example.Pod{}, 0); err != nil {
			t.Fatal(err)
		}
		existing = append(existing, key)
	}
	// The largest values that fit are accepted; the tests below go one byte over.
	maxName := strings.Repeat("k", maxKeySize-len("/pods/ns/"))
	maxNode := strings.Repeat("é", 126) + "n" // 253 bytes, 127 characters
	if err := s.Create(ctx, "/pods/ns/"+maxName, podNamed("ns", maxName, maxNode, nil), &example.Pod{}, 0); err != nil {
		t.Fatalf("creating an object with a %d-byte key and a %d-byte node name: %v", maxKeySize, len(maxNode), err)
	}
	existing = append(existing, "/pods/ns/"+maxName)
	if diff := cmp.Diff([]string{"/pods/ns/" + maxName}, listKeys(t, s, "/pods/", fieldPred("spec.nodeName", maxNode))); diff != "" {
		t.Errorf("list by a node name of the column's full size (-want +got):\n%s", diff)
	}

	longName := maxName + "k"
	longKey := "/pods/ns/" + longName
	longNode := strings.Repeat("é", 127) // 254 bytes in a 253-byte column
	before := readDBState(t, db)
	update := func(node string) storage.UpdateFunc {
		return func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			p := in.(*example.Pod).DeepCopy()
			p.Spec.NodeName = node
			return p, nil, nil
		}
	}
	list := func(key string, opts storage.ListOptions) error {
		opts.Recursive = true
		if opts.Predicate.Label == nil {
			opts.Predicate = storage.Everything
		}
		return s.GetList(ctx, key, opts, &example.PodList{})
	}
	paged := func(token string) storage.ListOptions {
		p := storage.Everything
		p.Limit, p.Continue = 2, token
		return storage.ListOptions{Predicate: p}
	}
	current, err := s.b.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		call func() error
		// check says whether the error is the clear one expected.
		check func(error) bool
		// want is a fragment of the message.
		want string
	}{
		{"create with a key one byte too long", func() error {
			return s.Create(ctx, longKey, podNamed("ns", longName, "n", nil), &example.Pod{}, 0)
		}, apierrors.IsBadRequest, "1024"},
		{"get with a key one byte too long", func() error {
			return s.Get(ctx, longKey, storage.GetOptions{}, &example.Pod{})
		}, apierrors.IsBadRequest, "1024"},
		{"update with a key one byte too long", func() error {
			return s.GuaranteedUpdate(ctx, longKey, &example.Pod{}, true, nil, update("n"), nil)
		}, apierrors.IsBadRequest, "1024"},
		{"delete with a key one byte too long", func() error {
			return s.Delete(ctx, longKey, &example.Pod{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{})
		}, apierrors.IsBadRequest, "1024"},
		{"list of a prefix one byte too long", func() error {
			return list(longKey[:len(longKey)-1]+"/", storage.ListOptions{})
		}, apierrors.IsBadRequest, "1024"},
		{"watch of a key one byte too long", func() error {
			_, err := s.Watch(ctx, longKey, storage.ListOptions{Predicate: storage.Everything})
			return err
		}, apierrors.IsBadRequest, "1024"},
		{"key escaping its resource with ..", func() error {
			return s.Create(ctx, "/pods/../changelog/x", podNamed("ns", "x", "n", nil), &example.Pod{}, 0)
		}, isError, "invalid key"},
		{"key of another resource", func() error {
			return s.Create(ctx, "/changelog/x", podNamed("ns", "x", "n", nil), &example.Pod{}, 0)
		}, isError, "lacks resource prefix"},
		{"create with an indexed field one byte too long", func() error {
			return s.Create(ctx, "/pods/ns/long-node", podNamed("ns", "long-node", longNode, nil), &example.Pod{}, 0)
		}, apierrors.IsBadRequest, "spec.nodeName is 254 bytes long"},
		{"update to an indexed field one byte too long", func() error {
			return s.GuaranteedUpdate(ctx, existing[0], &example.Pod{}, false, nil, update(longNode), nil)
		}, apierrors.IsBadRequest, "spec.nodeName is 254 bytes long"},
		{"get at a resource version that is SQL", func() error {
			return s.Get(ctx, existing[0], storage.GetOptions{ResourceVersion: "1 OR 1=1"}, &example.Pod{})
		}, apierrors.IsBadRequest, "invalid resource version"},
		{"list at a resource version that is SQL", func() error {
			return list("/pods/", storage.ListOptions{ResourceVersion: "0; DROP TABLE pods", ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		}, apierrors.IsBadRequest, "invalid resource version"},
		{"list at a negative resource version", func() error {
			return list("/pods/", storage.ListOptions{ResourceVersion: "-1", ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		}, apierrors.IsBadRequest, "invalid resource version"},
		{"list at a resource version past uint64", func() error {
			return list("/pods/", storage.ListOptions{ResourceVersion: "18446744073709551616", ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		}, apierrors.IsBadRequest, "invalid resource version"},
		// As etcd3's Watch does, an invalid error that the registry turns into a 4xx.
		{"watch at a resource version that is SQL", func() error {
			_, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: "1'; --", Recursive: true, Predicate: storage.Everything})
			return err
		}, storage.IsInvalidError, "resourceVersion: Invalid value"},
		{"continue token that is SQL", func() error {
			return list("/pods/", paged(`'; DROP TABLE pods; --`))
		}, apierrors.IsBadRequest, "invalid continue token"},
		{"continue token of JSON that is not a token", func() error {
			return list("/pods/", paged(base64.RawURLEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":"1 OR 1=1","start":"x"}`))))
		}, apierrors.IsBadRequest, "invalid continue token"},
		{"continue token climbing out of the prefix", func() error {
			return list("/pods/ns/", paged(continueToken(t, "../../changelog/", current)))
		}, apierrors.IsBadRequest, "invalid continue token"},
		{"continue token at revision 0", func() error {
			return list("/pods/", paged(continueToken(t, "ns/p-1", 0)))
		}, apierrors.IsBadRequest, "invalid continue token"},
		{"continue token from the future", func() error {
			return list("/pods/", paged(continueToken(t, "ns/p-1", current+1000)))
		}, storage.IsTooLargeResourceVersion, "Too large resource version"},
		{"continue token with a key too long", func() error {
			return list("/pods/", paged(continueToken(t, "ns/"+strings.Repeat("k", maxKeySize), current)))
		}, apierrors.IsBadRequest, "invalid continue token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			switch {
			case err == nil:
				t.Fatalf("succeeded")
			case !tc.check(err):
				t.Errorf("failed with %v (%T), not the expected kind of error", err, err)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("failed with %q, which does not say %q", err, tc.want)
			}
			if diff := before.diff(readDBState(t, db)); diff != "" {
				t.Errorf("the database changed (-before +after):\n%s", diff)
			}
		})
	}
	// What was there is unchanged.
	for _, key := range existing {
		got := &example.Pod{}
		if err := s.Get(ctx, key, storage.GetOptions{}, got); err != nil {
			t.Errorf("reading %q: %v", key, err)
		} else if got.Spec.NodeName == longNode {
			t.Errorf("%q has the rejected node name", key)
		}
	}
}

func isError(err error) bool { return err != nil }

// TestInputHostileReadsMatchNothing reads with hostile selector values and continue
// tokens that are legal: they must act as literal data, find only what they name, and
// change nothing.
func TestInputHostileReadsMatchNothing(t *testing.T) {
	s, db := inputSetup(t)
	ctx := context.Background()
	var keys []string
	for i := range 6 {
		key := fmt.Sprintf("/pods/ns/p-%d", i)
		if err := s.Create(ctx, key, podNamed("ns", fmt.Sprintf("p-%d", i), "node-a", nil), &example.Pod{}, 0); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	current, err := s.b.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := readDBState(t, db)
	longNode := strings.Repeat("n", 254)
	for _, v := range append(append([]string(nil), hostile...), longNode, "node-a' OR '1'='1", "node-a%", "node-_", "NODE-A", "node-a ", "node-a\x00", "\xff\xfe-not-utf8") {
		if got := listKeys(t, s, "/pods/", fieldPred("spec.nodeName", v)); len(got) != 0 {
			t.Errorf("spec.nodeName=%q matched %v", v, got)
		}
		// An unindexed field and a label take the path through the decoded objects.
		if got := listKeys(t, s, "/pods/", fieldPred("metadata.name", v)); len(got) != 0 {
			t.Errorf("metadata.name=%q matched %v", v, got)
		}
		pred := storage.SelectionPredicate{Label: labels.SelectorFromValidatedSet(labels.Set{"app": v}), Field: fields.Everything(), GetAttrs: podAttrs}
		if got := listKeys(t, s, "/pods/", pred); len(got) != 0 {
			t.Errorf("label app=%q matched %v", v, got)
		}
	}
	// A forged continue token starting at a hostile key lists the keys after it, compared
	// as bytes, and nothing outside the prefix.
	for _, start := range hostile {
		p := storage.Everything
		p.Limit, p.Continue = 100, continueToken(t, "ns/"+start, current)
		out := &example.PodList{}
		if err := s.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: p}, out); err != nil {
			t.Errorf("continuing at %q: %v", start, err)
			continue
		}
		var want, got []string
		for _, k := range keys {
			if k >= "/pods/ns/"+start {
				want = append(want, k)
			}
		}
		for i := range out.Items {
			got = append(got, podKey(&out.Items[i]))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("continuing at %q (-want +got):\n%s", start, diff)
		}
	}
	if diff := before.diff(readDBState(t, db)); diff != "" {
		t.Errorf("reads changed the database (-before +after):\n%s", diff)
	}
}

// TestInputConfigIdentifiers: table and column names are spliced into SQL text, so
// Config.Validate must accept nothing but [a-z][a-z0-9_]*.
func TestInputConfigIdentifiers(t *testing.T) {
	bad := []string{
		"", "Pods", "pods;", "pods; DROP TABLE changelog", "p`s", "p's", `p"s`, "p s", "p-s", "p.s",
		"p\\s", "p\x00s", "pöds", "1pods", "_pods", "p/*x*/", strings.Repeat("p", 49),
	}
	for _, name := range bad {
		cfg := Config{DSN: "u:p@tcp(h)/d", Tables: []Table{{ResourcePrefix: "/r", Name: name}}}
		cfg.Complete()
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "tables[0].name") {
			t.Errorf("table name %q: Validate returned %v", name, err)
		}
		cfg.Tables[0] = Table{ResourcePrefix: "/r", Name: "runs", Columns: []Column{{Field: "spec.x", Name: name, Size: 10}}}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "tables[0].columns[0].name") {
			t.Errorf("column name %q: Validate returned %v", name, err)
		}
	}
	for _, name := range []string{"runs", "pipeline_versions", "a1", strings.Repeat("p", 48)} {
		cfg := Config{DSN: "u:p@tcp(h)/d", Tables: []Table{{ResourcePrefix: "/r", Name: name, Columns: []Column{{Field: "spec.x", Name: "col_x", Size: 768}}}}}
		cfg.Complete()
		if err := cfg.Validate(); err != nil {
			t.Errorf("table %q: %v", name, err)
		}
	}
	for _, size := range []int{0, -1, 769} {
		cfg := Config{DSN: "u:p@tcp(h)/d", Tables: []Table{{ResourcePrefix: "/r", Name: "runs", Columns: []Column{{Field: "spec.x", Name: "x", Size: size}}}}}
		cfg.Complete()
		if err := cfg.Validate(); err == nil {
			t.Errorf("column size %d accepted", size)
		}
	}
}
