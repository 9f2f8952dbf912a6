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
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
)

// memory is the live heap after a collection and the resident set, in MiB.
type memory struct{ heap, rss float64 }

func measure() memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{heap: float64(ms.HeapAlloc) / (1 << 20)}
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				m.rss = kb / 1024
			}
		}
	}
	return m
}

func (m memory) String() string { return fmt.Sprintf("heap %.0f MiB, RSS %.0f MiB", m.heap, m.rss) }

// TestStalledWatchersStayBounded (issue 13, acceptance point 4): twice as many watches as
// the pool has connections, none of them ever read (from resourceVersion 0, with initial
// events, and replaying history from before the data), on a namespace of thousands of
// objects of which some are several megabytes. Meanwhile creates, gets and the readiness
// check answer within their deadline, the process's heap stays within a bound computed
// from the limits, and once the namespace changes by more than a watch may queue, every
// stalled watch is ended and counted, never the server.
func TestStalledWatchersStayBounded(t *testing.T) {
	const (
		pool       = 9
		small      = 3000    // objects of about 300 bytes
		big        = 8       // objects of bigSize
		bigSize    = 3 << 20 // bytes
		queueBytes = 8 << 20
		deadline   = 5 * time.Second
	)
	b := testBackend(t, "", func(c *Config) {
		c.MaxOpenConns, c.MaxIdleConns, c.WatchQueueBytes = pool, pool, queueBytes
	})
	codec := apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)
	s := newPodStore(t, b, setup{codec: codec})
	ctx := context.Background()
	historyFrom := currentRV(ctx, t, s)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }

	objs := make([]BulkObject, 0, small)
	for i := range small {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("run-%05d", i),
			Labels: map[string]string{"pipeline": "p" + strconv.Itoa(i%7)}}}
		data, err := kruntime.Encode(codec, pod)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, BulkObject{Key: podKey(pod), Value: data, Columns: [][]byte{{}}})
	}
	if _, err := BulkLoad(ctx, b.db, podsTable, objs); err != nil {
		t.Fatal(err)
	}
	bigPod := func(name string, fill byte) *example.Pod {
		return &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name,
			Annotations: map[string]string{"manifest": strings.Repeat(string(fill), bigSize)}}}
	}
	for i := range big {
		p := bigPod(fmt.Sprintf("big-%02d", i), 'a'+byte(i))
		if err := s.Create(ctx, podKey(p), p, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	objs = nil
	before := measure()
	phase("loaded")

	watches := stalledWatches(ctx, t, s, (2*pool+2)/3, historyFrom)
	closedBefore := closedSlowWatchers(t)

	// Healthy: creates, gets and readiness within the deadline, for a while.
	var slowest time.Duration
	slowestOp := ""
	check := func(what string, fn func(context.Context) error) {
		t.Helper()
		opCtx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		start := time.Now()
		if err := fn(opCtx); err != nil {
			t.Errorf("%s with %d stalled watches on a pool of %d: %v", what, len(watches), pool, err)
		}
		if d := time.Since(start); d > slowest {
			slowest, slowestOp = d, what
		}
	}
	during := before
	phase("watches open")
	for i := range 10 {
		p := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("new-%02d", i)}}
		check("create", func(ctx context.Context) error { return s.Create(ctx, podKey(p), p, nil, 0) })
		check("get", func(ctx context.Context) error {
			return s.Get(ctx, "/pods/ns/run-00042", storage.GetOptions{}, &example.Pod{})
		})
		check("readiness", func(context.Context) error { return b.ReadinessCheck() })
		time.Sleep(100 * time.Millisecond)
		if m := measure(); m.heap > during.heap {
			during = m
		}
	}

	phase("creates, gets and readiness checks done")
	// Changes bigger than a watch may queue: every stalled watch is ended.
	for i := range 4 {
		p := bigPod(fmt.Sprintf("big-%02d", i), 'A'+byte(i))
		if err := s.GuaranteedUpdate(ctx, podKey(p), &example.Pod{}, false, nil, storage.SimpleUpdate(func(kruntime.Object) (kruntime.Object, error) {
			return p, nil
		}), nil); err != nil {
			t.Fatal(err)
		}
		if m := measure(); m.heap > during.heap {
			during = m
		}
	}
	phase("big updates done")
	for i, w := range watches {
		ended := false
		for !ended {
			select {
			case _, ok := <-w.ResultChan():
				ended = !ok
			case <-time.After(10 * time.Second):
				t.Fatalf("stalled watch %d still open after the namespace changed by %d MiB, over its %d MiB queue", i, 4*bigSize>>20, queueBytes>>20)
			}
		}
	}
	closed := closedSlowWatchers(t) - closedBefore
	phase("watches ended")
	after := measure()

	// What a stalled watch may hold: a page of history or state (its byte budget plus
	// the row that crossed it), the object it is sending, decoded (about as large as
	// its stored form here), and the event it took from its queue; the queues share the
	// events the tail hands out, so they count once.
	perWatch := float64(watchPageBytes+3*bigSize) / (1 << 20)
	bound := float64(len(watches))*perWatch + float64(queueBytes)/(1<<20) + 64
	t.Logf("pool %d connections, %d stalled watches, page budget %d KiB, queue limit %d MiB; %d objects of ~300 B and %d of %d MiB",
		pool, len(watches), watchPageBytes>>10, queueBytes>>20, small, big, bigSize>>20)
	t.Logf("memory before the watches: %s; highest while stalled: %s (+%.0f MiB heap, bound %.0f MiB); after they were closed: %s",
		before, during, during.heap-before.heap, bound, after)
	t.Logf("slowest create, get or readiness check: %v, a %s (deadline %v); slow watches closed: %v", slowest.Round(time.Millisecond), slowestOp, deadline, closed)
	if growth := during.heap - before.heap; growth > bound {
		t.Errorf("the heap grew by %.0f MiB with %d stalled watches, over the bound of %.0f MiB", growth, len(watches), bound)
	}
	if int(closed) < len(watches) {
		t.Errorf("%v slow watches counted as closed, want at least %d", closed, len(watches))
	}
}
