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
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/component-base/metrics/testutil"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// statementCount is how many times the Backends of this process have run a statement.
func statementCount(t *testing.T, s statement) uint64 {
	t.Helper()
	n, err := testutil.GetHistogramMetricCount(statementDuration.WithLabelValues(s.name))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTailOwnCommits checks how the tail serves this process's own commits. Creates, and
// updates and deletes of objects the writer read, reach the watches from memory, with
// neither a read of the change log nor a durability barrier; an update of a cached
// object, whose previous stored value the writer does not know, is read back, still
// without a barrier; another replica's commits are read and made durable with the
// barrier. The watches see every event once, in order, with the right object, and a
// label-selected watch sees the right previous values.
func TestTailOwnCommits(t *testing.T) {
	dsn := mysqltesting.SharedServer(t).NewDatabase(t)
	cfg := setup{codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion), dsn: dsn}
	ctx := context.Background()
	// Polls for other replicas' commits only when the test asks, so that every read of the
	// log it counts was one the tail chose to make.
	b := testBackend(t, dsn, func(c *Config) { c.PollInterval = time.Hour })
	s := newPodStore(t, b, cfg)

	rv := currentRV(ctx, t, s)
	w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: rv, Recursive: true, Predicate: storage.Everything})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// A watch of label updated=1 tells an update's previous value from its new one.
	labelled := storage.SelectionPredicate{Label: labels.SelectorFromSet(labels.Set{"updated": "1"}), Field: fields.Everything(), GetAttrs: podAttrs}
	wl, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: rv, Recursive: true, Predicate: labelled})
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Stop()
	counts := func() (reads, barriers uint64) {
		return statementCount(t, stmtTail), statementCount(t, stmtBarrier)
	}
	expectCounts := func(what string, reads0, barriers0 uint64, readsWanted bool) {
		t.Helper()
		reads, barriers := counts()
		if (reads > reads0) != readsWanted {
			t.Errorf("%s: the tail read the change log %d times", what, reads-reads0)
		}
		if barriers != barriers0 {
			t.Errorf("%s: the tail wrote %d durability barriers for own commits only", what, barriers-barriers0)
		}
	}

	// Own creates one at a time: each event comes from memory.
	reads, barriers := counts()
	const alone, together = 10, 48
	want := events{}
	for i := range alone {
		if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
			t.Fatal(err)
		}
		want[testPod(i).Name] = expected{watch.Added, ""}
	}
	last := expectEvents(t, w, want, 0)
	expectCounts("creates one after another", reads, barriers, false)

	// Updates and deletes of objects the writer read: from memory too, with the previous
	// value, which the labelled watch needs to tell what changed.
	reads, barriers = counts()
	want, wantLabelled := events{}, events{}
	for i := range alone {
		relabel(ctx, t, s, i, "1", nil)
		want[testPod(i).Name] = expected{watch.Modified, "1"}
		wantLabelled[testPod(i).Name] = expected{watch.Added, "1"}
	}
	last = expectEvents(t, w, want, last)
	lastLabelled := expectEvents(t, wl, wantLabelled, 0)
	for i := range alone / 2 {
		if err := s.Delete(ctx, podKey(testPod(i)), &example.Pod{}, nil, storage.ValidateAllObjectFunc, nil, storage.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		want[testPod(i).Name] = expected{watch.Deleted, "1"}
		wantLabelled[testPod(i).Name] = expected{watch.Deleted, "1"}
	}
	last = expectEvents(t, w, want, last)
	lastLabelled = expectEvents(t, wl, wantLabelled, lastLabelled)
	expectCounts("updates and deletes", reads, barriers, false)

	// An update of a cached object, whose stored form the writer did not read: read back
	// for its previous value, still without a barrier.
	reads, barriers = counts()
	cached := &example.Pod{}
	if err := s.Get(ctx, podKey(testPod(alone-1)), storage.GetOptions{}, cached); err != nil {
		t.Fatal(err)
	}
	relabel(ctx, t, s, alone-1, "2", cached)
	last = expectEvents(t, w, events{testPod(alone - 1).Name: {watch.Modified, "2"}}, last)
	expectEvents(t, wl, events{testPod(alone - 1).Name: {watch.Deleted, "1"}}, lastLabelled)
	expectCounts("an update of a cached object", reads, barriers, true)

	// Many at once, written in batches. A read may happen here, where one writer commits
	// while another has been handed its revision but not yet told the tail; a barrier
	// may not.
	_, barriers = counts()
	want = events{}
	var wg sync.WaitGroup
	for i := alone; i < alone+together; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
				t.Error(err)
			}
		}()
		want[testPod(i).Name] = expected{watch.Added, ""}
	}
	wg.Wait()
	last = expectEvents(t, w, want, last)
	if _, n := counts(); n != barriers {
		t.Errorf("creates at once: the tail wrote %d durability barriers for own commits only", n-barriers)
	}

	// Another replica's creates, between own ones: read, and made durable first. The
	// other replica is its create transaction in plain SQL, so that no second tail
	// writes barriers of its own.
	_, barriers = counts()
	want = events{}
	for i := alone + together; i < alone+together+10; i++ {
		if i%2 == 0 {
			createInSQL(ctx, t, s, testPod(i), 0)
			b.tail.poke() // stands in for the poll interval
		} else if err := s.Create(ctx, podKey(testPod(i)), testPod(i), nil, 0); err != nil {
			t.Fatal(err)
		}
		want[testPod(i).Name] = expected{watch.Added, ""}
	}
	expectEvents(t, w, want, last)
	if _, n := counts(); n == barriers {
		t.Error("the tail dispatched another replica's commits without a durability barrier")
	}
}

// createInSQL creates pod as an engine would, but without s's Backend: at revision rev,
// or at the next AUTO_INCREMENT id when rev is 0. It returns the event of the create.
func createInSQL(ctx context.Context, t *testing.T, s *store, pod *example.Pod, rev int64) *event {
	t.Helper()
	value, err := runtime.Encode(s.codec, pod)
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.prepareKey(podKey(pod), false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", s.b.cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "INSERT INTO pods (k, revision) VALUES (?, 0)", []byte(key)); err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+logTable+" (id, k, created, deleted, prev_revision, value) VALUES (NULLIF(?, 0), ?, 1, 0, 0, ?)", rev, []byte(key), value)
	if err != nil {
		t.Fatal(err)
	}
	if rev, err = res.LastInsertId(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE pods SET revision = ? WHERE k = ?", rev, []byte(key)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return &event{rev: rev, key: key, value: value, created: true}
}

// TestTailWaitsForOwnCommits: a commit is visible in the log before it is durable, and
// the tail must not pass on an own revision it finds there until the writer's commit has
// returned, nor skip the barrier for one whose writer gave up on it. The writer is played
// by the test: it registers a revision, commits its row in plain SQL, and only then says
// how the commit ended.
func TestTailWaitsForOwnCommits(t *testing.T) {
	for _, ending := range []string{"committed", "abandoned"} {
		t.Run(ending, func(t *testing.T) {
			ctx, s := testSetup(t, withTransformer(nil))
			b := s.b
			w, err := s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: currentRV(ctx, t, s), Recursive: true, Predicate: storage.Everything})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			next, err := b.CurrentRevision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			next++

			// Another replica's create, then one of ours whose commit has not returned:
			// the tail reads both and passes on only the first.
			own := b.tail.handed(next + 1)
			defer own.abandon()
			createInSQL(ctx, t, s, testPod(0), next)
			mine := createInSQL(ctx, t, s, testPod(1), next+1)
			b.tail.poke()
			last := expectEvents(t, w, events{testPod(0).Name: {watch.Added, ""}}, 0)
			select {
			case ev := <-w.ResultChan():
				t.Fatalf("the tail passed on %s before its writer's commit returned", ev.Object.(*example.Pod).Name)
			case <-time.After(300 * time.Millisecond):
			}

			barriers := statementCount(t, stmtBarrier)
			if ending == "committed" {
				own.committed(mine)
			} else {
				own.abandon()
			}
			expectEvents(t, w, events{testPod(1).Name: {watch.Added, ""}}, last)
			if got := statementCount(t, stmtBarrier) - barriers; (got > 0) != (ending == "abandoned") {
				t.Errorf("%d durability barriers for a revision whose writer %s", got, ending)
			}
		})
	}
}

// relabel sets label updated of pod i to value through the store, from the cached object
// when there is one.
func relabel(ctx context.Context, t *testing.T, s *store, i int, value string, cached runtime.Object) {
	t.Helper()
	err := s.GuaranteedUpdate(ctx, podKey(testPod(i)), &example.Pod{}, false, nil,
		func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			p := in.(*example.Pod)
			p.Labels = map[string]string{"updated": value}
			return p, nil, nil
		}, cached)
	if err != nil {
		t.Fatal(err)
	}
}

// expected is an event of one pod: its type, and its label updated.
type expected struct {
	typ     watch.EventType
	updated string
}

// events are the events a watch is expected to deliver next, by pod name, in any order.
type events map[string]expected

// expectEvents reads one event per pod in want, as expected, each at a revision above
// the last, and returns the last revision seen. Unless last is 0 the watch has already
// delivered everything before it.
func expectEvents(t *testing.T, w watch.Interface, want events, last uint64) uint64 {
	t.Helper()
	for len(want) > 0 {
		select {
		case ev := <-w.ResultChan():
			pod, ok := ev.Object.(*example.Pod)
			if !ok {
				t.Fatalf("event %s of %T, want a pod", ev.Type, ev.Object)
			}
			got := expected{ev.Type, pod.Labels["updated"]}
			if got != want[pod.Name] {
				t.Fatalf("event %+v of %s, want %+v", got, pod.Name, want[pod.Name])
			}
			delete(want, pod.Name)
			rv, err := strconv.ParseUint(pod.ResourceVersion, 10, 64)
			if err != nil || rv <= last {
				t.Fatalf("event %s of %s at revision %q after %d", ev.Type, pod.Name, pod.ResourceVersion, last)
			}
			last = rv
		case <-time.After(10 * time.Second):
			t.Fatalf("no event for 10s; still waiting for %v", want)
		}
	}
	return last
}
