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

// This file checks the engine as two replicas see it: two Backends on one database,
// each with its own change-log tail, written to concurrently. Every acknowledged write
// is recorded; from that history the tests derive what every watcher must have seen
// and what every list must have returned, and compare.
//
// TestReplicasConcurrentWrites runs writers that contend for the same keys across both
// replicas. TestReplicasSurviveDatabaseRestart stops and kills the database in the middle
// of the writes: there each writer owns its keys, so that a write whose outcome is
// unknown can be settled by reading the key back.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/apitesting"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
	storagetesting "k8s.io/apiserver/pkg/storage/testing"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// markerAnnotation carries a unique id per write attempt, so that a write whose outcome
// is unknown can be recognised when it is read back.
const markerAnnotation = "test.pipelines/write"

var nodes = []string{"node-a", "node-b", "node-c"}

// ack is one acknowledged write: the revision the store returned, the key, what a
// watcher without a selector must report for it, and the object it returns.
type ack struct {
	rev int64
	key string
	typ watch.EventType
	obj *example.Pod
}

// history collects acknowledged writes from every writer.
type history struct {
	mu   sync.Mutex
	acks []ack
}

func (h *history) add(a ack) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.acks = append(h.acks, a)
}

// sorted returns the writes in revision order.
func (h *history) sorted() []ack {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]ack(nil), h.acks...)
	sort.Slice(out, func(i, j int) bool { return out[i].rev < out[j].rev })
	return out
}

func podKey(p *example.Pod) string { return "/pods/" + p.Namespace + "/" + p.Name }

// revOf is the resource version of a pod.
func revOf(obj runtime.Object) (int64, error) {
	p, ok := obj.(*example.Pod)
	if !ok {
		return 0, fmt.Errorf("object is %T, not a pod", obj)
	}
	rv, err := strconv.ParseInt(p.ResourceVersion, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resource version %q of %s: %w", p.ResourceVersion, podKey(p), err)
	}
	return rv, nil
}

func podRev(t testing.TB, obj runtime.Object) int64 {
	t.Helper()
	rv, err := revOf(obj)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func withRV(p *example.Pod, rev int64) *example.Pod {
	c := p.DeepCopy()
	c.ResourceVersion = strconv.FormatInt(rev, 10)
	return c
}

func newPod(key, node, marker string) *example.Pod {
	parts := strings.Split(strings.TrimPrefix(key, "/pods/"), "/")
	return &example.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: parts[0], Name: parts[1], Annotations: map[string]string{markerAnnotation: marker}},
		Spec:       example.PodSpec{NodeName: node},
	}
}

func nodePredicate(node string) storage.SelectionPredicate {
	if node == "" {
		return storage.Everything
	}
	return storage.SelectionPredicate{
		Label:    labels.Everything(),
		Field:    fields.OneTermEqualSelector("spec.nodeName", node),
		GetAttrs: podAttrs,
	}
}

// checkHistory verifies that the acknowledged writes form one valid history: revisions
// are unique, each key is created only while absent, updated and deleted only while
// present, and a delete returns the version it deleted.
func checkHistory(t *testing.T, acks []ack) {
	t.Helper()
	state := map[string]*example.Pod{}
	for i, a := range acks {
		if i > 0 && acks[i-1].rev == a.rev {
			t.Errorf("revision %d was acknowledged twice: %s %s and %s %s", a.rev, acks[i-1].typ, acks[i-1].key, a.typ, a.key)
		}
		if got := podRev(t, a.obj); got != a.rev {
			t.Errorf("%s %s at revision %d returned an object with resource version %d", a.typ, a.key, a.rev, got)
		}
		prev := state[a.key]
		switch a.typ {
		case watch.Added:
			if prev != nil {
				t.Errorf("%s was created at revision %d while it existed at revision %s", a.key, a.rev, prev.ResourceVersion)
			}
			state[a.key] = a.obj
		case watch.Modified:
			if prev == nil {
				t.Errorf("%s was updated at revision %d while it did not exist", a.key, a.rev)
			}
			state[a.key] = a.obj
		case watch.Deleted:
			if prev == nil {
				t.Errorf("%s was deleted at revision %d while it did not exist", a.key, a.rev)
			} else if want := withRV(prev, a.rev); !apiequality.Semantic.DeepEqual(want, a.obj) {
				t.Errorf("delete of %s at revision %d returned another object than the one it deleted: %s", a.key, a.rev, cmp.Diff(want, a.obj))
			}
			delete(state, a.key)
		}
	}
}

// stateAt is what the store held under prefix at rev, filtered by node when set.
func stateAt(acks []ack, rev int64, prefix, node string) map[string]*example.Pod {
	state := map[string]*example.Pod{}
	for _, a := range acks {
		if a.rev > rev {
			break
		}
		if a.typ == watch.Deleted {
			delete(state, a.key)
		} else {
			state[a.key] = a.obj
		}
	}
	for k, p := range state {
		if !strings.HasPrefix(k, prefix) || (node != "" && p.Spec.NodeName != node) {
			delete(state, k)
		}
	}
	return state
}

// observed is one event a watcher delivered.
type observed struct {
	typ watch.EventType
	rev int64
	key string
	obj *example.Pod
}

func (o observed) String() string { return fmt.Sprintf("%s %s@%d", o.typ, o.key, o.rev) }

// expectedEvents is what a watch of prefix, filtered on spec.nodeName when node is set,
// started at from, must deliver for the history acks: the semantics of etcd3's watcher,
// where an update that moves an object into the selection is ADDED and one that moves
// it out is DELETED carrying the old object at the new revision.
func expectedEvents(acks []ack, prefix, node string, from int64) []observed {
	in := func(p *example.Pod) bool { return p != nil && (node == "" || p.Spec.NodeName == node) }
	state := map[string]*example.Pod{}
	var out []observed
	for _, a := range acks {
		prev := state[a.key]
		if a.typ == watch.Deleted {
			delete(state, a.key)
		} else {
			state[a.key] = a.obj
		}
		if a.rev <= from || !strings.HasPrefix(a.key, prefix) {
			continue
		}
		ev := observed{rev: a.rev, key: a.key}
		switch {
		case a.typ == watch.Added && in(a.obj):
			ev.typ, ev.obj = watch.Added, a.obj
		case a.typ == watch.Deleted && in(prev):
			ev.typ, ev.obj = watch.Deleted, a.obj
		case a.typ == watch.Modified && in(a.obj) && (node == "" || in(prev)):
			ev.typ, ev.obj = watch.Modified, a.obj
		case a.typ == watch.Modified && in(a.obj):
			ev.typ, ev.obj = watch.Added, a.obj
		case a.typ == watch.Modified && in(prev):
			ev.typ, ev.obj = watch.Deleted, withRV(prev, a.rev)
		default:
			continue
		}
		out = append(out, ev)
	}
	return out
}

// checkEvents compares what a watcher delivered with what it must have delivered:
// every revision exactly once, in increasing order, with the right type and object,
// and nothing else.
func checkEvents(t *testing.T, name string, got, want []observed) {
	t.Helper()
	const maxReports = 10
	reports := 0
	report := func(format string, args ...any) {
		reports++
		if reports <= maxReports {
			t.Errorf("watcher %s: "+format, append([]any{name}, args...)...)
		}
	}
	wantByRev := map[int64]observed{}
	for _, w := range want {
		wantByRev[w.rev] = w
	}
	seen := map[int64]int{}
	for i, g := range got {
		if i > 0 && g.rev <= got[i-1].rev {
			report("event %d (%v) does not come after event %d (%v)", i, g, i-1, got[i-1])
		}
		seen[g.rev]++
		if seen[g.rev] == 2 {
			report("delivered revision %d more than once (%v)", g.rev, g)
		}
		w, ok := wantByRev[g.rev]
		switch {
		case !ok:
			report("delivered %v, which no acknowledged write explains", g)
		case w.typ != g.typ || w.key != g.key:
			report("delivered %v, want %v", g, w)
		case !apiequality.Semantic.DeepEqual(w.obj, g.obj):
			report("delivered %v with the wrong object: %s", g, cmp.Diff(w.obj, g.obj))
		}
	}
	for _, w := range want {
		if seen[w.rev] == 0 {
			report("missed %v", w)
		}
	}
	if reports > maxReports {
		t.Errorf("watcher %s: %d more problems not shown", name, reports-maxReports)
	}
	if reports == 0 && len(got) != len(want) {
		t.Errorf("watcher %s: delivered %d events, want %d", name, len(got), len(want))
	}
}

// watchSpec describes one watcher: a recursive watch of prefix on one replica, with a
// field selector on spec.nodeName when node is set.
type watchSpec struct {
	name      string
	replica   int
	prefix    string
	node      string
	bookmarks bool
}

// recorder runs a watch and records what it delivers. When the watch ends it resumes
// from the last resource version it saw, event or bookmark, as a reflector does; with
// allowEnd unset an ending watch is itself a failure.
type recorder struct {
	spec     watchSpec
	s        *store
	from     int64
	allowEnd bool
	bounce   chan struct{}

	mu        sync.Mutex
	events    []observed
	lastRV    int64
	resumes   int
	bookmarks int
	problems  []string
}

func newRecorder(spec watchSpec, s *store, from int64, allowEnd bool) *recorder {
	return &recorder{spec: spec, s: s, from: from, allowEnd: allowEnd, lastRV: from, bounce: make(chan struct{}, 1)}
}

func (r *recorder) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// restart makes the recorder stop its current watch and resume, as a client would after
// a dropped connection.
func (r *recorder) restart() {
	select {
	case r.bounce <- struct{}{}:
	default:
	}
}

func (r *recorder) last() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRV
}

func (r *recorder) run(ctx context.Context) {
	pred := nodePredicate(r.spec.node)
	pred.AllowWatchBookmarks = r.spec.bookmarks
	for ctx.Err() == nil {
		opts := storage.ListOptions{ResourceVersion: strconv.FormatInt(r.last(), 10), Recursive: true, Predicate: pred}
		w, err := r.s.Watch(ctx, r.spec.prefix, opts)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !r.allowEnd {
				r.problem("starting the watch at %s: %v", opts.ResourceVersion, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		r.consume(ctx, w)
		w.Stop()
		if ctx.Err() == nil {
			r.mu.Lock()
			r.resumes++
			r.mu.Unlock()
			time.Sleep(20 * time.Millisecond) // a reflector backs off too
		}
	}
}

func (r *recorder) consume(ctx context.Context, w watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.bounce:
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				if !r.allowEnd && ctx.Err() == nil {
					r.problem("the watch ended without an error after revision %d", r.last())
				}
				return
			}
			switch ev.Type {
			case watch.Error:
				if !r.allowEnd {
					r.problem("error event after revision %d: %v", r.last(), ev.Object)
				}
				return
			case watch.Bookmark:
				rv, err := revOf(ev.Object)
				if err != nil {
					r.problem("bookmark: %v", err)
					return
				}
				r.mu.Lock()
				if rv < r.lastRV {
					r.problems = append(r.problems, fmt.Sprintf("bookmark at %d after an event at %d", rv, r.lastRV))
				}
				r.lastRV = max(r.lastRV, rv)
				r.bookmarks++
				r.mu.Unlock()
			default:
				pod, ok := ev.Object.(*example.Pod)
				if !ok {
					r.problem("%s event carries a %T", ev.Type, ev.Object)
					return
				}
				rv, err := revOf(pod)
				if err != nil {
					r.problem("%s event: %v", ev.Type, err)
					return
				}
				o := observed{typ: ev.Type, rev: rv, key: podKey(pod), obj: pod}
				r.mu.Lock()
				if o.rev <= r.lastRV {
					// checkEvents reports the order; this also catches an event at or
					// below a bookmark, which would make a resuming client miss events.
					r.problems = append(r.problems, fmt.Sprintf("%v after revision %d", o, r.lastRV))
				}
				r.lastRV = max(r.lastRV, o.rev)
				r.events = append(r.events, o)
				r.mu.Unlock()
			}
		}
	}
}

// waitFor waits until the recorder has seen revision rev, or reports it.
func (r *recorder) waitFor(t *testing.T, rev int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for r.last() < rev {
		if time.Now().After(deadline) {
			t.Errorf("watcher %s: still at revision %d %v after the last write at %d", r.spec.name, r.last(), timeout, rev)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *recorder) check(t *testing.T, acks []ack) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		t.Errorf("watcher %s: %s", r.spec.name, p)
	}
	checkEvents(t, r.spec.name, r.events, expectedEvents(acks, r.spec.prefix, r.spec.node, r.from))
	t.Logf("watcher %s: %d events, %d bookmarks, resumed %d times", r.spec.name, len(r.events), r.bookmarks, r.resumes)
}

// startWatchers starts a recorder per spec; stop ends them and waits.
func startWatchers(t *testing.T, stores []*store, from int64, allowEnd bool, specs ...watchSpec) (recs []*recorder, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, spec := range specs {
		r := newRecorder(spec, stores[spec.replica], from, allowEnd)
		recs = append(recs, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(ctx)
		}()
	}
	stop = func() {
		cancel()
		wg.Wait()
	}
	t.Cleanup(stop)
	return recs, stop
}

// listRecord is one list result taken while writes ran, checked against the history
// at its revision once every write is known.
type listRecord struct {
	desc  string
	rev   int64
	node  string
	items map[string]*example.Pod
}

// list reads prefix on s, in pages of limit when limit > 0, at rv ("" for a consistent
// read). Every page must report the revision of the first.
func list(ctx context.Context, s *store, prefix, node, rv string, match metav1.ResourceVersionMatch, limit int64) (int64, map[string]*example.Pod, error) {
	items := map[string]*example.Pod{}
	var rev int64
	cont := ""
	for {
		pred := nodePredicate(node)
		pred.Limit, pred.Continue = limit, cont
		opts := storage.ListOptions{Recursive: true, Predicate: pred, ResourceVersion: rv, ResourceVersionMatch: match}
		if cont != "" {
			opts.ResourceVersion, opts.ResourceVersionMatch = "", ""
		}
		out := &example.PodList{}
		if err := s.GetList(ctx, prefix, opts, out); err != nil {
			return 0, nil, err
		}
		pageRev, err := strconv.ParseInt(out.ResourceVersion, 10, 64)
		if err != nil {
			return 0, nil, err
		}
		if rev != 0 && pageRev != rev {
			return 0, nil, fmt.Errorf("a page of the list at revision %d reports revision %d", rev, pageRev)
		}
		rev = pageRev
		for i := range out.Items {
			p := &out.Items[i]
			if _, dup := items[podKey(p)]; dup {
				return 0, nil, fmt.Errorf("list at %d returned %s twice", rev, podKey(p))
			}
			items[podKey(p)] = p
		}
		if out.Continue == "" {
			return rev, items, nil
		}
		cont = out.Continue
	}
}

func checkList(t *testing.T, acks []ack, rec listRecord) {
	t.Helper()
	want := stateAt(acks, rec.rev, "/pods/", rec.node)
	if !apiequality.Semantic.DeepEqual(want, rec.items) {
		t.Errorf("%s at revision %d differs from the acknowledged writes (-want +got):\n%s", rec.desc, rec.rev, cmp.Diff(want, rec.items))
	}
}

// lister lists s over and over until ctx ends: consistent lists, paged lists and lists
// at an exact past revision with a field selector.
func lister(ctx context.Context, s *store, name string, from int64, out *[]listRecord, errs *[]string, mu *sync.Mutex) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var lastRev int64
	for i := 0; ctx.Err() == nil; i++ {
		var (
			rec listRecord
			err error
		)
		switch i % 3 {
		case 0:
			rec.desc = name + " consistent list"
			rec.rev, rec.items, err = list(ctx, s, "/pods/", "", "", "", 0)
		case 1:
			rec.desc = name + " consistent list in pages of 7"
			rec.rev, rec.items, err = list(ctx, s, "/pods/", "", "", "", 7)
		case 2:
			if lastRev <= from {
				continue
			}
			past := from + 1 + rng.Int64N(lastRev-from)
			rec.desc, rec.node = name+" exact list of node-a in pages of 5", "node-a"
			rec.rev, rec.items, err = list(ctx, s, "/pods/", "node-a", strconv.FormatInt(past, 10), metav1.ResourceVersionMatchExact, 5)
			if err == nil && rec.rev != past {
				err = fmt.Errorf("exact list at %d answered at %d", past, rec.rev)
			}
		}
		mu.Lock()
		if err != nil && ctx.Err() == nil {
			*errs = append(*errs, fmt.Sprintf("%s: %v", rec.desc, err))
		} else if err == nil {
			*out = append(*out, rec)
			lastRev = max(lastRev, rec.rev)
		}
		mu.Unlock()
	}
}

// replicaStores opens two Backends on dsn, each with a pod store; on a Galera cluster
// (make test-galera) each talks to its own node.
func replicaStores(t *testing.T, dsn string) ([]*Backend, []*store) {
	t.Helper()
	cfg := defaultSetup()
	var (
		backends []*Backend
		stores   []*store
	)
	for i := range 2 {
		b := testBackend(t, mysqltesting.NodeDSN(dsn, i))
		backends = append(backends, b)
		stores = append(stores, newPodStore(t, b, cfg))
	}
	return backends, stores
}

// defaultSetup is testSetup's configuration: the test codec and a prefix transformer.
func defaultSetup() setup {
	return setup{
		codec:       apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion),
		transformer: storagetesting.NewPrefixTransformer([]byte(testPrefix), false),
	}
}

func finalLists(t *testing.T, stores []*store, acks []ack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, s := range stores {
		rev, items, err := list(ctx, s, "/pods/", "", "", "", 0)
		if err != nil {
			t.Errorf("final list on replica %d: %v", i, err)
			continue
		}
		if last := acks[len(acks)-1].rev; rev < last {
			t.Errorf("final consistent list on replica %d is at revision %d, before the last acknowledged write at %d", i, rev, last)
		}
		checkList(t, acks, listRecord{desc: fmt.Sprintf("final list on replica %d", i), rev: rev, items: items})
	}
}

// writeSentinel creates one last object, so that a watcher that has seen its revision,
// by the event or by a bookmark, has seen everything before it. Watchers whose selector
// does not match it allow bookmarks.
func writeSentinel(t *testing.T, s *store, hist *history) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &example.Pod{}
	key := "/pods/ns-0/zz-sentinel"
	if err := s.Create(ctx, key, newPod(key, "node-a", "sentinel"), out, 0); err != nil {
		t.Fatalf("creating the sentinel: %v", err)
	}
	rev := podRev(t, out)
	hist.add(ack{rev: rev, key: key, typ: watch.Added, obj: out})
	return rev
}

// sharedWriter performs ops random writes on keys that other writers write too.
type sharedWriter struct {
	id    int
	s     *store
	keys  []string
	hist  *history
	rng   *rand.Rand
	known map[string]*example.Pod // last version this writer saw, offered as a cached object
	errs  []string
	stats map[string]int
}

func (w *sharedWriter) run(ctx context.Context, ops int, done *atomic.Int64) {
	for i := range ops {
		w.op(ctx, fmt.Sprintf("w%d-%d", w.id, i))
		done.Add(1)
	}
}

func (w *sharedWriter) op(ctx context.Context, marker string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	key := w.keys[w.rng.IntN(len(w.keys))]
	node := nodes[w.rng.IntN(len(nodes))]
	var cached runtime.Object
	if p := w.known[key]; p != nil && w.rng.IntN(2) == 0 {
		cached = p.DeepCopy() // the store may modify it
	}
	out := &example.Pod{}
	var (
		err error
		typ watch.EventType
	)
	// Mostly what the writer believes will succeed, but often enough what will not: other
	// writers change the same keys, so beliefs are often stale either way.
	createBelow, updateBelow := 70, 85
	if w.known[key] != nil {
		createBelow, updateBelow = 10, 80
	}
	switch n := w.rng.IntN(100); {
	case n < createBelow:
		typ = watch.Added
		err = w.s.Create(ctx, key, newPod(key, node, marker), out, 0)
	case n < updateBelow:
		typ = watch.Modified
		err = w.s.GuaranteedUpdate(ctx, key, out, false, nil, func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			p := in.(*example.Pod).DeepCopy()
			p.Spec.NodeName = node
			p.Annotations = map[string]string{markerAnnotation: marker}
			return p, nil, nil
		}, cached)
	default:
		typ = watch.Deleted
		err = w.s.Delete(ctx, key, out, nil, storage.ValidateAllObjectFunc, cached, storage.DeleteOptions{})
	}
	switch {
	case err == nil:
		rev, err := revOf(out)
		if err != nil {
			w.errs = append(w.errs, fmt.Sprintf("%s %s: %v", typ, key, err))
			return
		}
		w.stats[string(typ)]++
		w.hist.add(ack{rev: rev, key: key, typ: typ, obj: out})
		if typ == watch.Deleted {
			delete(w.known, key)
		} else {
			w.known[key] = out
		}
	case typ == watch.Added && storage.IsExist(err), typ != watch.Added && storage.IsNotFound(err):
		w.stats["refused"]++
		delete(w.known, key)
	default:
		w.errs = append(w.errs, fmt.Sprintf("%s %s: %v", typ, key, err))
	}
}

// TestReplicasNewBackendReplaysHistory: a Backend that joins a database other replicas
// have written to serves a watch from an old revision, opened the moment NewBackend
// returns, with every change since. A tail that found its position only after NewBackend
// returned told such a watch it started at revision 0, so the watch skipped its replay
// and then missed everything up to where the tail began (TestReplicasSurviveDatabaseRestart
// caught it now and then, as events missed at the very start).
func TestReplicasNewBackendReplaysHistory(t *testing.T) {
	const creates = 20
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	first := testBackend(t, dsn)
	s := newPodStore(t, first, defaultSetup())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	from, err := first.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hist := &history{}
	for i := range creates {
		key := fmt.Sprintf("/pods/ns-%d/p-%d", i%2, i)
		out := &example.Pod{}
		if err := s.Create(ctx, key, newPod(key, nodes[i%len(nodes)], key), out, 0); err != nil {
			t.Fatal(err)
		}
		hist.add(ack{rev: podRev(t, out), key: key, typ: watch.Added, obj: out})
	}
	acks := hist.sorted()
	last := acks[len(acks)-1].rev

	second := testBackend(t, mysqltesting.NodeDSN(dsn, 1))
	if got := second.tail.resolvedRevision(); got < last {
		t.Errorf("NewBackend returned with its tail at revision %d, before the last commit at %d", got, last)
	}
	s2 := newPodStore(t, second, defaultSetup())
	recs, stop := startWatchers(t, []*store{s2}, from, false,
		watchSpec{name: "new backend/all", prefix: "/pods/"},
		watchSpec{name: "new backend/node-a", prefix: "/pods/", node: "node-a", bookmarks: true})
	for _, r := range recs {
		r.waitFor(t, last, 10*time.Second)
	}
	stop()
	for _, r := range recs {
		r.check(t, acks)
	}
}

// TestReplicasConcurrentWrites: eight writers on two replicas contend for the same
// keys while watchers on both replicas, with and without a field selector, record what
// they are told. Every watcher must see each acknowledged change of its keys exactly
// once and in order, lists taken meanwhile must match the history at their revision,
// and both replicas must end up listing the same state.
func TestReplicasConcurrentWrites(t *testing.T) {
	const (
		writers         = 8
		opsPerWriter    = 600
		keysPerNS       = 20
		namespaces      = 2
		watchersTimeout = 30 * time.Second
	)
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	backends, stores := replicaStores(t, dsn)
	ctx := context.Background()
	from, err := backends[0].CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for ns := range namespaces {
		for j := range keysPerNS {
			keys = append(keys, fmt.Sprintf("/pods/ns-%d/p-%02d", ns, j))
		}
	}
	specs := []watchSpec{
		{name: "replica0/all", replica: 0, prefix: "/pods/", bookmarks: true},
		{name: "replica1/all", replica: 1, prefix: "/pods/"},
		{name: "replica1/node-a", replica: 1, prefix: "/pods/", node: "node-a", bookmarks: true},
		{name: "replica0/ns-0/node-b", replica: 0, prefix: "/pods/ns-0/", node: "node-b", bookmarks: true},
	}
	recs, stopWatchers := startWatchers(t, stores, from, false, specs...)

	hist := &history{}
	var (
		done     atomic.Int64
		wg       sync.WaitGroup
		ws       []*sharedWriter
		listMu   sync.Mutex
		lists    []listRecord
		listErrs []string
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for i := range writers {
		w := &sharedWriter{id: i, s: stores[i%2], keys: keys, hist: hist, rng: rand.New(rand.NewPCG(seed, uint64(i))),
			known: map[string]*example.Pod{}, stats: map[string]int{}}
		ws = append(ws, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, opsPerWriter, &done)
		}()
	}
	listCtx, stopListers := context.WithCancel(ctx)
	var listWG sync.WaitGroup
	for i, s := range stores {
		listWG.Add(1)
		go func() {
			defer listWG.Done()
			lister(listCtx, s, fmt.Sprintf("replica%d", i), from, &lists, &listErrs, &listMu)
		}()
	}
	// Watchers that start late replay history from the log while new events stream in.
	for done.Load() < writers*opsPerWriter/2 {
		time.Sleep(10 * time.Millisecond)
	}
	late, stopLate := startWatchers(t, stores, from, false,
		watchSpec{name: "replica1/all (late)", replica: 1, prefix: "/pods/"},
		watchSpec{name: "replica0/node-c (late)", replica: 0, prefix: "/pods/", node: "node-c", bookmarks: true},
	)
	recs = append(recs, late...)

	wg.Wait()
	stopListers()
	listWG.Wait()
	last := writeSentinel(t, stores[1], hist)
	for _, r := range recs {
		r.waitFor(t, last, watchersTimeout)
	}
	stopWatchers()
	stopLate()

	stats := map[string]int{}
	for _, w := range ws {
		for _, e := range w.errs {
			t.Errorf("writer %d: %s", w.id, e)
		}
		for k, v := range w.stats {
			stats[k] += v
		}
	}
	t.Logf("writes: %v", stats)
	acks := hist.sorted()
	checkHistory(t, acks)
	for _, r := range recs {
		r.check(t, acks)
	}
	for _, e := range listErrs {
		t.Error(e)
	}
	for _, l := range lists {
		checkList(t, acks, l)
	}
	t.Logf("%d lists checked against the history", len(lists))
	finalLists(t, stores, acks)
}

// ownerWriter writes only its own keys, so it knows what each holds: a write that
// fails with an unknown outcome is settled by reading the key back.
type ownerWriter struct {
	id   int
	s    *store
	keys []string
	hist *history
	rng  *rand.Rand
	cur  map[string]*example.Pod
	errs []string

	failed, committedAnyway int
}

func (w *ownerWriter) run(ctx context.Context, ops int, done *atomic.Int64) {
	for i := range ops {
		key := w.keys[w.rng.IntN(len(w.keys))]
		node := nodes[w.rng.IntN(len(nodes))]
		typ := watch.Added
		if w.cur[key] != nil {
			typ = watch.Modified
			if w.rng.IntN(4) == 0 {
				typ = watch.Deleted
			}
		}
		// A write that failed and did not commit is tried again, as a client would.
		for attempt := 0; ; attempt++ {
			if w.op(ctx, key, node, typ, fmt.Sprintf("w%d-%d-%d", w.id, i, attempt)) || attempt == 20 {
				break
			}
		}
		done.Add(1)
	}
}

// op writes key and reports whether the write is settled: acknowledged, found committed
// despite an error, or refused for a reason a retry would not change.
func (w *ownerWriter) op(ctx context.Context, key, node string, typ watch.EventType, marker string) bool {
	cur := w.cur[key]
	opCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := &example.Pod{}
	var err error
	switch typ {
	case watch.Added:
		err = w.s.Create(opCtx, key, newPod(key, node, marker), out, 0)
	case watch.Modified:
		var cached runtime.Object
		if w.rng.IntN(2) == 0 {
			cached = cur.DeepCopy()
		}
		err = w.s.GuaranteedUpdate(opCtx, key, out, false, nil, func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			p := in.(*example.Pod).DeepCopy()
			p.Spec.NodeName = node
			p.Annotations = map[string]string{markerAnnotation: marker}
			return p, nil, nil
		}, cached)
	case watch.Deleted:
		err = w.s.Delete(opCtx, key, out, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{})
	}
	switch {
	case err == nil:
		rev, err := revOf(out)
		if err != nil {
			w.errs = append(w.errs, fmt.Sprintf("%s %s: %v", typ, key, err))
			return true
		}
		w.acknowledge(ack{rev: rev, key: key, typ: typ, obj: out})
		return true
	case storage.IsExist(err) || storage.IsNotFound(err) || storage.IsConflict(err):
		// This writer alone writes key and knows what it holds.
		w.errs = append(w.errs, fmt.Sprintf("%s %s refused though the writer owns the key: %v", typ, key, err))
		return true
	default:
		w.failed++
		return w.reconcile(ctx, key, typ, marker, cur)
	}
}

func (w *ownerWriter) acknowledge(a ack) {
	w.hist.add(a)
	if a.typ == watch.Deleted {
		delete(w.cur, a.key)
	} else {
		w.cur[a.key] = a.obj
	}
}

// reconcile settles a write that returned an error: the commit may or may not have
// happened. Once the database answers, the key shows which. It reports false when the
// write did not happen.
func (w *ownerWriter) reconcile(ctx context.Context, key string, typ watch.EventType, marker string, cur *example.Pod) bool {
	deadline := time.Now().Add(time.Minute)
	got := &example.Pod{}
	var found bool
	for {
		getCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := w.s.Get(getCtx, key, storage.GetOptions{}, got)
		cancel()
		if err == nil || storage.IsNotFound(err) {
			found = err == nil
			break
		}
		if time.Now().After(deadline) {
			w.errs = append(w.errs, fmt.Sprintf("reading %s back after a failed %s: %v", key, typ, err))
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	unchanged := (cur == nil && !found) || (cur != nil && found && got.ResourceVersion == cur.ResourceVersion)
	switch {
	case unchanged:
		return false // the write did not happen
	case typ != watch.Deleted && found && got.Annotations[markerAnnotation] == marker:
		w.committedAnyway++
		rev, err := revOf(got)
		if err != nil {
			w.errs = append(w.errs, err.Error())
			return true
		}
		w.acknowledge(ack{rev: rev, key: key, typ: typ, obj: got})
		return true
	case typ == watch.Deleted && !found:
		w.committedAnyway++
		prev, err := revOf(cur)
		if err != nil {
			w.errs = append(w.errs, err.Error())
			return true
		}
		rev, err := w.deleteRevision(ctx, key, prev)
		if err != nil {
			w.errs = append(w.errs, fmt.Sprintf("finding the revision of the delete of %s: %v", key, err))
			return true
		}
		w.acknowledge(ack{rev: rev, key: key, typ: typ, obj: withRV(cur, rev)})
		return true
	default:
		w.errs = append(w.errs, fmt.Sprintf("after a failed %s, %s holds neither the old nor the new version (found=%v, rv=%s, marker=%s)",
			typ, key, found, got.ResourceVersion, got.Annotations[markerAnnotation]))
		return true
	}
}

// deleteRevision finds the revision of a delete the store did not acknowledge. A read of
// the key cannot tell it, so this asks the change log: the delete of key that
// superseded revision prev.
func (w *ownerWriter) deleteRevision(ctx context.Context, key string, prev int64) (int64, error) {
	full, err := w.s.prepareKey(key, false)
	if err != nil {
		return 0, err
	}
	var rev int64
	err = w.s.b.db.QueryRowContext(ctx, "SELECT id FROM "+logTable+" WHERE k = ? AND deleted = 1 AND prev_revision = ?",
		[]byte(full), prev).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no delete of revision %d in the change log", prev)
	}
	return rev, err
}

// TestReplicasSurviveDatabaseRestart: as TestReplicasConcurrentWrites, with the database
// shut down cleanly and restarted a third of the way through, and killed with SIGKILL and
// restarted at two thirds. Writers settle failed writes by reading their keys back;
// watchers that end resume from the last resource version they saw, and some are made
// to end during each outage. Across both restarts every watcher must still see every
// committed change exactly once and in order.
func TestReplicasSurviveDatabaseRestart(t *testing.T) {
	const (
		writers      = 8
		opsPerWriter = 400
		keysPerW     = 6
		outage       = 500 * time.Millisecond
	)
	srv := mysqltesting.StartPrivateServer(t)
	dsn := srv.NewDatabase(t)
	backends, stores := replicaStores(t, dsn)
	ctx := context.Background()
	from, err := backends[0].CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, stopWatchers := startWatchers(t, stores, from, true,
		watchSpec{name: "replica0/all", replica: 0, prefix: "/pods/", bookmarks: true},
		watchSpec{name: "replica1/all", replica: 1, prefix: "/pods/"},
		watchSpec{name: "replica1/node-a", replica: 1, prefix: "/pods/", node: "node-a", bookmarks: true},
		watchSpec{name: "replica0/ns-0/node-b", replica: 0, prefix: "/pods/ns-0/", node: "node-b", bookmarks: true},
	)

	hist := &history{}
	var (
		done   atomic.Int64
		wg     sync.WaitGroup
		ws     []*ownerWriter
		listMu sync.Mutex
		lists  []listRecord
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for i := range writers {
		w := &ownerWriter{id: i, s: stores[i%2], hist: hist, rng: rand.New(rand.NewPCG(seed, uint64(i))), cur: map[string]*example.Pod{}}
		for j := range keysPerW {
			w.keys = append(w.keys, fmt.Sprintf("/pods/ns-%d/w%d-%d", j%2, i, j))
		}
		ws = append(ws, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, opsPerWriter, &done)
		}()
	}
	listCtx, stopListers := context.WithCancel(ctx)
	var listWG sync.WaitGroup
	for i, s := range stores {
		listWG.Add(1)
		go func() {
			defer listWG.Done()
			// Lists fail while the database is down; those that succeed are checked.
			var ignored []string
			lister(listCtx, s, fmt.Sprintf("replica%d", i), from, &lists, &ignored, &listMu)
		}()
	}
	waitOps := func(n int64) {
		for done.Load() < n {
			time.Sleep(10 * time.Millisecond)
		}
	}
	outageAt := func(kill bool) {
		if kill {
			srv.Kill(t)
		} else {
			srv.Stop(t)
		}
		if err := backends[0].ReadinessCheck(); err == nil {
			t.Errorf("ReadinessCheck passes with the database down")
		}
		// Clients whose connection drops resume their watches.
		recs[0].restart()
		recs[2].restart()
		time.Sleep(outage)
		srv.Start(t)
	}
	waitOps(writers * opsPerWriter / 3)
	outageAt(false)
	late, stopLate := startWatchers(t, stores, from, true,
		watchSpec{name: "replica1/all (late)", replica: 1, prefix: "/pods/"})
	recs = append(recs, late...)
	waitOps(2 * writers * opsPerWriter / 3)
	outageAt(true)

	wg.Wait()
	stopListers()
	listWG.Wait()
	last := writeSentinel(t, stores[0], hist)
	for _, r := range recs {
		r.waitFor(t, last, 30*time.Second)
	}
	stopWatchers()
	stopLate()

	var failed, committed int
	for _, w := range ws {
		for _, e := range w.errs {
			t.Errorf("writer %d: %s", w.id, e)
		}
		failed += w.failed
		committed += w.committedAnyway
	}
	t.Logf("%d writes failed across the restarts; %d of them had committed", failed, committed)
	if failed == 0 {
		t.Errorf("no write failed: the restarts did not happen during the writes")
	}
	acks := hist.sorted()
	checkHistory(t, acks)
	for _, r := range recs {
		r.check(t, acks)
	}
	for _, l := range lists {
		checkList(t, acks, l)
	}
	t.Logf("%d lists checked against the history", len(lists))
	finalLists(t, stores, acks)
}
