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

// This file checks the engine when the database fails: requests against a database
// that is down or frozen end by their deadline instead of hanging, readiness reflects
// the outage, the same Backend works again once the database is back, and every write
// acknowledged before a SIGKILL of the database is still there afterwards.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

const (
	faultDeadline = 2 * time.Second
	// faultSlack is what a request may take beyond its deadline: this checks that
	// requests do not hang, not how fast they fail.
	faultSlack = time.Second
)

// storageOps are the requests checked during an outage, each on its own key or range.
func storageOps(s *store, existing string, n int) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"Get": func(ctx context.Context) error {
			return s.Get(ctx, existing, storage.GetOptions{}, &example.Pod{})
		},
		"Create": func(ctx context.Context) error {
			key := fmt.Sprintf("/pods/ns/outage-%d", n)
			return s.Create(ctx, key, newPod(key, "node-a", "outage"), &example.Pod{}, 0)
		},
		"GetList": func(ctx context.Context) error {
			return s.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, &example.PodList{})
		},
		"GetList with a field selector": func(ctx context.Context) error {
			return s.GetList(ctx, "/pods/", storage.ListOptions{Recursive: true, Predicate: nodePredicate("node-a")}, &example.PodList{})
		},
		"GuaranteedUpdate": func(ctx context.Context) error {
			return s.GuaranteedUpdate(ctx, existing, &example.Pod{}, false, nil,
				func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
					p := in.(*example.Pod).DeepCopy()
					p.Spec.NodeName = fmt.Sprintf("node-%d", n)
					return p, nil, nil
				}, nil)
		},
	}
}

// checkOpsFailInTime runs every request at once against an unavailable database, each
// with a deadline of faultDeadline, and checks that each fails and returns in time.
// Running them together also catches one request waiting on a lock another holds: a
// request with a longer deadline (as list requests have) starts first, on a statement
// not used before, and must not hold the others up past their own deadlines.
func checkOpsFailInTime(t *testing.T, b *Backend, s *store, existing string) {
	t.Helper()
	ops := storageOps(s, existing, 0)
	var wg sync.WaitGroup
	type result struct {
		err      error
		elapsed  time.Duration
		deadline time.Duration
	}
	var mu sync.Mutex
	results := map[string]result{}
	run := func(name string, deadline time.Duration, op func(context.Context) error) {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		err := op(ctx)
		mu.Lock()
		results[name] = result{err, time.Since(start), deadline}
		mu.Unlock()
	}
	wg.Add(1)
	go run("Stats (long deadline)", 2*faultDeadline, func(ctx context.Context) error {
		_, err := s.Stats(ctx)
		return err
	})
	time.Sleep(200 * time.Millisecond)
	for name, op := range ops {
		wg.Add(1)
		go run(name, faultDeadline, op)
	}
	wg.Add(1)
	go run("ReadinessCheck", faultDeadline, func(context.Context) error { return b.ReadinessCheck() })
	// A bound on the wait itself, so that a hang fails the test instead of timing it out.
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2*faultDeadline + 10*time.Second):
		t.Fatalf("requests still running %v after their deadline", 10*time.Second)
	}
	for name, r := range results {
		if r.err == nil {
			t.Errorf("%s succeeded with the database unavailable", name)
		}
		if r.elapsed > r.deadline+faultSlack {
			t.Errorf("%s returned after %v, more than its %v deadline plus %v: %v", name, r.elapsed, r.deadline, faultSlack, r.err)
		}
		t.Logf("%s failed after %v: %v", name, r.elapsed.Round(time.Millisecond), r.err)
	}
}

// checkRecovered checks that the same Backend serves every request again and reports
// ready, and that a watch opened before the outage, resumed if it ended, sees a write
// made after it.
func checkRecovered(t *testing.T, b *Backend, s *store, existing string, rec *recorder, round int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := b.ReadinessCheck()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ReadinessCheck still failing 15s after the database came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, op := range storageOps(s, existing, round) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := op(ctx); err != nil {
			t.Errorf("%s after the database came back: %v", name, err)
		}
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := fmt.Sprintf("/pods/ns/after-%d", round)
	out := &example.Pod{}
	if err := s.Create(ctx, key, newPod(key, "node-a", "after"), out, 0); err != nil {
		t.Fatalf("creating %s after the database came back: %v", key, err)
	}
	rec.waitFor(t, podRev(t, out), 10*time.Second)
}

func seedObject(t *testing.T, s *store) string {
	t.Helper()
	key := "/pods/ns/existing"
	if err := s.Create(context.Background(), key, newPod(key, "node-a", "seed"), &example.Pod{}, 0); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestFaultsDatabaseStopped: with the database shut down, requests fail by their
// deadline and the Backend reports not ready; after it starts again the same Backend
// serves requests and its watches continue.
func TestFaultsDatabaseStopped(t *testing.T) {
	srv := mysqltesting.StartPrivateServer(t)
	b := testBackend(t, srv.NewDatabase(t))
	s := newPodStore(t, b, defaultSetup())
	existing := seedObject(t, s)
	from, err := b.CurrentRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := startWatchers(t, []*store{s}, from, true, watchSpec{name: "all", prefix: "/pods/", bookmarks: true})

	for round := 1; round <= 2; round++ {
		srv.Stop(t)
		checkOpsFailInTime(t, b, s, existing)
		srv.Start(t)
		checkRecovered(t, b, s, existing, recs[0], round)
	}
}

// TestFaultsDatabaseFrozen: as TestFaultsDatabaseStopped with the server frozen by
// SIGSTOP: connections and the listening socket stay open but nothing answers, which
// is what a hung server or a network black hole looks like to the engine.
func TestFaultsDatabaseFrozen(t *testing.T) {
	srv := mysqltesting.StartPrivateServer(t)
	dsn := srv.NewDatabase(t)
	pid := serverPID(t, dsn, srv.Addr())
	frozen := false
	thaw := func() {
		if frozen {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT to mariadbd %d: %v", pid, err)
			}
			frozen = false
		}
	}
	// Registered after StartPrivateServer, so it runs before the server is removed.
	t.Cleanup(thaw)

	b := testBackend(t, dsn)
	s := newPodStore(t, b, defaultSetup())
	existing := seedObject(t, s)
	from, err := b.CurrentRevision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := startWatchers(t, []*store{s}, from, true, watchSpec{name: "all", prefix: "/pods/", bookmarks: true})

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP to mariadbd %d: %v", pid, err)
	}
	frozen = true
	waitStopped(t, pid)
	checkOpsFailInTime(t, b, s, existing)
	thaw()
	checkRecovered(t, b, s, existing, recs[0], 1)
}

// serverPID asks the server for its pid file and checks, through /proc, that the pid
// is the private test server listening on addr: the test must never signal the
// system's MariaDB.
// waitStopped waits until every thread of pid is stopped: kill returns once SIGSTOP is
// queued, and on a busy machine a thread of mariadbd may still answer a query after that.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		if err != nil || len(tasks) == 0 {
			t.Fatalf("threads of mariadbd %d: %v", pid, err)
		}
		running := 0
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err != nil {
				continue // the thread ended
			}
			// The state follows the command, which is in parentheses and may hold spaces.
			if i := bytes.LastIndexByte(b, ')'); i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
				running++
			}
		}
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads of mariadbd %d still not stopped", running, pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func serverPID(t *testing.T, dsn, addr string) int {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		pidFile string
		port    int
	)
	if err := db.QueryRow("SELECT @@pid_file, @@port").Scan(&pidFile, &port); err != nil {
		t.Fatalf("asking the server for its pid file: %v", err)
	}
	_, wantPort, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(port) != wantPort {
		t.Fatalf("connected to port %d, not to the private server on %s", port, addr)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Skipf("cannot read the server's pid file %s: %v", pidFile, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %s: %v", pidFile, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Skipf("cannot inspect process %d: %v", pid, err)
	}
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	var portArg, pidArg bool
	for _, a := range args {
		portArg = portArg || a == "--port="+wantPort
		pidArg = pidArg || a == "--pid-file="+pidFile
	}
	if !portArg || !pidArg || os.Getppid() == pid {
		t.Fatalf("process %d (%q) is not the private server on %s", pid, args, addr)
	}
	return pid
}

// TestFaultsDurableAfterKill: every create acknowledged before the database is killed
// with SIGKILL is there after it restarts, with its revision, for a new Backend; and a
// watch from a revision before the creates replays them all, in order, exactly once.
// Creates still running at the kill may or may not have committed; those that did
// must be whole, and are replayed too.
func TestFaultsDurableAfterKill(t *testing.T) {
	const (
		writers   = 8
		perWriter = 25
	)
	srv := mysqltesting.StartPrivateServer(t)
	dsn := srv.NewDatabase(t)
	b := testBackend(t, dsn)
	s := newPodStore(t, b, defaultSetup())
	ctx := context.Background()
	from, err := b.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A watch on the first Backend, open across the kill.
	recs, stopWatchers := startWatchers(t, []*store{s}, from, true, watchSpec{name: "first backend", prefix: "/pods/", bookmarks: true})

	hist := &history{}
	create := func(w, i int) error {
		key := fmt.Sprintf("/pods/ns-%d/w%d-%d", w%2, w, i)
		out := &example.Pod{}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.Create(cctx, key, newPod(key, nodes[i%len(nodes)], key), out, 0); err != nil {
			return err
		}
		rev, err := revOf(out)
		if err != nil {
			return err
		}
		hist.add(ack{rev: rev, key: key, typ: watch.Added, obj: out})
		return nil
	}
	// Phase 1: creates that all succeed before the kill.
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := create(w, i); err != nil {
					t.Errorf("create: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	acked := len(hist.sorted())

	// Phase 2: creates still running when the server is killed.
	var (
		unknownMu sync.Mutex
		unknown   []string
		stop      = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := perWriter; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := create(w, i); err != nil {
					unknownMu.Lock()
					unknown = append(unknown, fmt.Sprintf("/pods/ns-%d/w%d-%d", w%2, w, i))
					unknownMu.Unlock()
					return
				}
			}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); len(hist.sorted()) < acked+50; {
		if time.Now().After(deadline) {
			t.Fatalf("creates stalled before the kill")
		}
		time.Sleep(time.Millisecond)
	}
	srv.Kill(t)
	close(stop)
	wg.Wait()
	acked = len(hist.sorted())
	srv.Start(t)

	b2 := testBackend(t, dsn)
	s2 := newPodStore(t, b2, defaultSetup())
	// Creates whose outcome is unknown: read them back; those that exist committed.
	for _, key := range unknown {
		got := &example.Pod{}
		err := s2.Get(ctx, key, storage.GetOptions{}, got)
		switch {
		case storage.IsNotFound(err):
		case err != nil:
			t.Fatalf("reading %s: %v", key, err)
		case got.Annotations[markerAnnotation] != key:
			t.Errorf("%s holds another object than the one its create wrote: %v", key, got)
		default:
			hist.add(ack{rev: podRev(t, got), key: key, typ: watch.Added, obj: got})
		}
	}
	acks := hist.sorted()
	t.Logf("%d creates acknowledged, %d in flight at the kill, %d of those committed", acked, len(unknown), len(acks)-acked)
	checkHistory(t, acks)

	// Every acknowledged object, with its revision, through the new Backend.
	for _, a := range acks {
		got := &example.Pod{}
		if err := s2.Get(ctx, a.key, storage.GetOptions{}, got); err != nil {
			t.Errorf("acknowledged %s at revision %d is gone after the kill: %v", a.key, a.rev, err)
			continue
		}
		if !apiequality.Semantic.DeepEqual(a.obj, got) {
			t.Errorf("%s after the kill differs from what its create returned: %s", a.key, cmp.Diff(a.obj, got))
		}
	}
	finalLists(t, []*store{s2}, acks)

	// A watch on the new Backend from before the creates replays them all, and the
	// watch on the first Backend, open across the kill, ends up with the same events.
	replay, stopReplay := startWatchers(t, []*store{s2}, from, false, watchSpec{name: "new backend, replay", prefix: "/pods/"})
	last := acks[len(acks)-1].rev
	for _, r := range append(replay, recs...) {
		r.waitFor(t, last, 30*time.Second)
	}
	stopReplay()
	stopWatchers()
	for _, r := range append(replay, recs...) {
		r.check(t, acks)
	}
}

// TestFaultsWatchersNeverSeeLostCommits: InnoDB makes a commit visible to other
// sessions before its redo log is written, so a database killed at the wrong moment
// takes back commits that another replica's tail may already have read, and after the
// restart hands their revisions to other writes. Eight writers on one Backend create
// objects while a second Backend polls the log every millisecond, and the database is
// killed, six times over; every event a watcher delivered, on either Backend, must then
// be in the change log, at its revision, with its key and object. (Without the tail's
// durability barrier this failed in about half of the runs.) The writers' own Backend
// passes on its commits once they have returned; that it never passes on one it reads
// in the log before then, which a kill here hits only by chance, TestTailWaitsForOwnCommits
// checks deterministically.
func TestFaultsWatchersNeverSeeLostCommits(t *testing.T) {
	const (
		// Enough writers that commits queue for the redo log flush, few enough that the
		// newest commits often form a gapless prefix the tail can deliver.
		writers = 8
		rounds  = 6
	)
	srv := mysqltesting.StartPrivateServer(t)
	dsn := srv.NewDatabase(t)
	sw := newPodStore(t, testBackend(t, dsn), defaultSetup())
	b := testBackend(t, dsn, func(c *Config) { c.PollInterval = time.Millisecond })
	s := newPodStore(t, b, defaultSetup())
	ctx := context.Background()
	from, err := b.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, stopWatchers := startWatchers(t, []*store{s, sw}, from, true,
		watchSpec{name: "all", prefix: "/pods/", bookmarks: true},
		watchSpec{name: "node-a", prefix: "/pods/", node: "node-a", bookmarks: true},
		watchSpec{name: "writer's", prefix: "/pods/", replica: 1, bookmarks: true})

	for round := range rounds {
		var (
			wg   sync.WaitGroup
			stop = make(chan struct{})
			done atomic.Int64
		)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					key := fmt.Sprintf("/pods/ns-%d/r%d-w%d-%d", w%2, round, w, i)
					cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err := sw.Create(cctx, key, newPod(key, nodes[i%len(nodes)], key), &example.Pod{}, 0)
					cancel()
					if err != nil {
						return // the database is gone
					}
					done.Add(1)
				}
			}()
		}
		for deadline := time.Now().Add(30 * time.Second); done.Load() < 50+int64(rand.IntN(50)); {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: creates stalled before the kill", round)
			}
			time.Sleep(time.Millisecond)
		}
		srv.Kill(t)
		close(stop)
		wg.Wait()
		srv.Start(t)
	}
	last := writeSentinel(t, sw, &history{})
	for _, r := range recs {
		r.waitFor(t, last, 30*time.Second)
	}
	stopWatchers()

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, r := range recs {
		r.mu.Lock()
		events := append([]observed(nil), r.events...)
		r.mu.Unlock()
		for _, ev := range events {
			var (
				key   []byte
				value []byte
			)
			err := db.QueryRowContext(ctx, "SELECT k, value FROM "+logTable+" WHERE id = ?", ev.rev).Scan(&key, &value)
			if err != nil {
				t.Errorf("watcher %s delivered %v, which the change log does not have after the restarts: %v", r.spec.name, ev, err)
				continue
			}
			if string(key) != ev.key {
				t.Errorf("watcher %s delivered %v, but revision %d is %q in the change log", r.spec.name, ev, ev.rev, key)
				continue
			}
			data, _, err := s.getTransformer().TransformFromStorage(ctx, value, authenticatedData(key))
			if err != nil {
				t.Fatal(err)
			}
			stored := &example.Pod{}
			if err := s.decode(data, stored, ev.rev); err != nil {
				t.Fatal(err)
			}
			if ev.typ != watch.Deleted && !apiequality.Semantic.DeepEqual(stored, ev.obj) {
				t.Errorf("watcher %s delivered %v with another object than the change log holds: %s", r.spec.name, ev, cmp.Diff(stored, ev.obj))
			}
		}
		t.Logf("watcher %s: %d events checked against the change log", r.spec.name, len(events))
	}
}
