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
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// event is one change-log row, or a progress notification when progress is set.
type event struct {
	rev       int64
	key       string
	value     []byte
	prevValue []byte
	created   bool
	deleted   bool
	progress  bool
	initial   bool // synthesized from a list, not read from the log
}

const (
	tailBatch = 1000
	// barrierRows is how many rows of the metadata table replicas spread their barrier
	// writes over; two replicas that pick the same row only queue for its lock briefly.
	barrierRows = 64
	// tailBytes bounds the values one read of the log holds (at least one row).
	tailBytes = 16 << 20
	// pollTimeout bounds one read of the log, with the gap fill and barrier it may need.
	pollTimeout = 30 * time.Second
	// maxOwnBytes bounds the own commits the tail keeps in memory while it waits for an
	// older revision; past it, it reads further ones back from the log.
	maxOwnBytes = 64 << 20
	// eventOverhead is what an event costs in memory besides its key and values.
	eventOverhead = 128
)

// size is what e holds in memory, as queues and pages count it.
func (e *event) size() int64 {
	return int64(len(e.key)+len(e.value)+len(e.prevValue)) + eventOverhead
}

// pageSize is how many rows to ask for in the next read of a paged scan: it adapts to
// the size of the rows, so that a scan of large objects asks for about what fits in its
// byte budget rather than reading rows only to drop them.
type pageSize struct {
	rows, maxRows int
	bytes         int64 // budget of one page; a page holds at least one row
}

// newPageSize starts at rows rows. A page cut at its budget still reads the rows it
// asked for off the connection (the driver drains them), so a scan that may meet large
// objects starts small and doubles while pages fit.
func newPageSize(rows, maxRows int, bytes int64) pageSize {
	return pageSize{rows: rows, maxRows: maxRows, bytes: bytes}
}

// observe adapts the next page to one that read n rows and was cut at the budget or not.
func (p *pageSize) observe(n int, cut bool) {
	switch {
	case cut:
		p.rows = max(n, 1)
	case n >= p.rows:
		p.rows = min(2*p.rows, p.maxRows)
	}
}

// tail reads the change log in revision order and hands each event to the subscribers
// whose keys it matches. It is the only reader of new rows in a process. Of this
// process's own commits it is told by their writers, and hands them on without reading
// them back when they follow the resolved revision (see ownRevision).
//
// Revisions come from AUTO_INCREMENT, which hands out ids at insert time, not commit
// time: id 11 can become visible before id 10. Seeing 11 while 10 is missing, the tail
// inserts a filler row with id 10. If 10's transaction is still open, InnoDB makes that
// insert wait for it: it then fails as a duplicate once 10 commits, or succeeds if 10
// rolled back. Either way 10 is settled and no event can appear behind the tail. Should
// the filler win against a writer that has been given 10 but not yet written its row,
// that writer's insert fails as a duplicate and it retries with a new id, before it has
// acknowledged anything.
type tail struct {
	b            *Backend
	pollInterval time.Duration
	wake         chan struct{}
	barrierName  string // this process's row in the metadata table for barrier writes

	mu       sync.Mutex
	resolved int64         // every revision up to here is dispatched
	advanced chan struct{} // closed when resolved moves
	subs     map[*subscriber]struct{}
	own      map[int64]*ownRevision // revisions above resolved that this process's writers hold
	ownBytes int64                  // what the events own carries hold
	page     pageSize               // of the next read of the log
	lastErr  error
	lastOK   time.Time
}

// ownRevision is a revision one of this process's writers was handed. Until its commit
// returns it may be visible but not durable; once it has returned, it is durable (with
// innodb_flush_log_at_trx_commit=1, as the barrier assumes too), so the tail needs no
// barrier for it, and when the writer says what it wrote, no read of the log either.
type ownRevision struct {
	committed bool
	ev        *event // what was written, when committed and known; nil: read it from the log
}

func newTail(b *Backend, pollInterval time.Duration) *tail {
	return &tail{
		b:            b,
		pollInterval: pollInterval,
		wake:         make(chan struct{}, 1),
		barrierName:  "durability_barrier_" + strconv.Itoa(rand.IntN(barrierRows)),
		advanced:     make(chan struct{}),
		subs:         map[*subscriber]struct{}{},
		own:          map[int64]*ownRevision{},
		page:         newPageSize(tailBatch, tailBatch, tailBytes),
	}
}

// handed registers revisions a writer was handed, before it commits them: the tail
// neither dispatches them nor reads past them until the writer says, through the
// returned ownWrite, how its commit ended.
func (t *tail) handed(revs ...int64) *ownWrite {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rev := range revs {
		if rev > t.resolved {
			t.own[rev] = &ownRevision{}
		}
	}
	return &ownWrite{t: t, revs: revs}
}

// ownWrite is a writer's hold on the revisions it was handed.
type ownWrite struct {
	t    *tail
	revs []int64
	done bool
}

// committed says that the writer's commit returned, with what it wrote: evs[i] is the
// event of the i-th revision handed, nil where the writer does not know it (an update of
// an object whose stored form it did not read).
func (w *ownWrite) committed(evs ...*event) {
	w.done = true
	w.t.settled(w.revs, evs)
}

// abandon says that the write rolled back, or that its commit failed and so may or may
// not have happened: the tail settles its revisions in the log. Once the writer has
// said how it ended, it does nothing.
func (w *ownWrite) abandon() {
	if w.done {
		return
	}
	w.done = true
	w.t.mu.Lock()
	for _, rev := range w.revs {
		delete(w.t.own, rev)
	}
	w.t.mu.Unlock()
	w.t.poke()
}

// settled records durable commits of this process at revs, with their events where
// known; the others are read back from the log.
func (t *tail) settled(revs []int64, evs []*event) {
	t.mu.Lock()
	for i, rev := range revs {
		if rev <= t.resolved {
			continue
		}
		o := &ownRevision{committed: true}
		if evs[i] != nil && t.ownBytes < maxOwnBytes {
			o.ev = evs[i]
			t.ownBytes += o.ev.size()
		}
		t.own[rev] = o
	}
	t.mu.Unlock()
	t.poke()
}

// poke makes the tail look for new revisions now: called after every local commit.
func (t *tail) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run reads the log until ctx ends. The tail must have been established.
func (t *tail) run(ctx context.Context) {
	ticker := time.NewTicker(t.pollInterval)
	defer ticker.Stop()
	for {
		for {
			// A bound on each read, so that a database that stops answering without
			// closing the connection (frozen, or behind a network black hole) holds the
			// tail up for pollTimeout, not for as long as TCP takes to give up.
			pollCtx, cancel := context.WithTimeout(ctx, pollTimeout)
			more, err := t.poll(pollCtx)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				t.setErr(err)
				klog.V(2).InfoS("Reading the change log failed", "err", err)
				break
			}
			t.setErr(nil)
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-ticker.C:
		}
	}
}

// establish finds where the tail starts: the newest revision below which nothing is in
// flight. Rows below the compaction revision may be missing for good; above it every
// missing id is a transaction that is still open or rolled back, and is settled here.
//
// NewBackend calls it before it returns, so no watch can subscribe before the tail has a
// position. A watch that subscribed earlier would be told it starts at revision 0, skip
// its replay, and then miss every event between its own revision and the position the
// tail jumps to when it starts, which other replicas may have filled meanwhile.
func (t *tail) establish(ctx context.Context) error {
	compact, err := t.b.compactRevision(ctx, nil)
	if err != nil {
		return err
	}
	pos := max(compact-1, 0)
	for {
		rows, err := t.b.d.query(ctx, nil, stmtTailIDs, pos, tailBatch*10)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			for gap := pos + 1; gap < id; gap++ {
				if err := t.fill(ctx, gap); err != nil {
					return err
				}
			}
			pos = id
		}
		if len(ids) < tailBatch*10 {
			break
		}
	}
	if err := t.barrier(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	t.resolved = pos
	close(t.advanced)
	t.advanced = make(chan struct{})
	t.mu.Unlock()
	tailRevision.Set(float64(pos))
	klog.InfoS("Change-log tail started", "revision", pos)
	return nil
}

// poll dispatches the own commits that follow the resolved revision, or else reads one
// batch of the log after it and dispatches that. It reports whether there may be more
// to dispatch at once.
func (t *tail) poll(ctx context.Context) (bool, error) {
	t.mu.Lock()
	dispatched := t.dispatchOwnLocked()
	from := t.resolved
	next, ok := t.own[from+1]
	t.mu.Unlock()
	switch {
	case ok && !next.committed:
		return false, nil // its writer pokes the tail when it knows how its commit ended
	case !ok && dispatched:
		return false, nil // other replicas' commits, if any, are found by the next poll
	}
	limit := t.page.rows
	rows, err := t.b.d.query(ctx, nil, stmtTail, from, limit)
	if err != nil {
		return false, err
	}
	var (
		evs   []*event
		bytes int64
		cut   bool
	)
	want, gap, n := from+1, int64(0), 0
	for !cut && rows.Next() {
		n++
		var (
			e           event
			key         []byte
			value, prev []byte
		)
		if err := rows.Scan(&e.rev, &key, &e.created, &e.deleted, &value, &prev); err != nil {
			rows.Close()
			return false, err
		}
		if e.rev != want {
			gap = want
			break
		}
		want++
		e.key, e.value, e.prevValue = string(key), value, prev
		evs = append(evs, &e)
		bytes += e.size()
		cut = bytes >= t.page.bytes
	}
	if err := rows.Close(); err != nil {
		return false, err
	}
	t.page.observe(n, cut)
	if cut {
		n = limit // there may be more
	}
	// Own revisions whose commits have returned are durable. The tail stops before one
	// whose commit has not, which pokes it when it returns; anything else it read needs
	// the barrier.
	t.mu.Lock()
	foreign := false
	for i, e := range evs {
		o, ok := t.own[e.rev]
		if ok && !o.committed {
			evs, gap = evs[:i], 0
			n = limit // look again at once: the rest may be own commits
			break
		}
		foreign = foreign || !ok
	}
	if o, ok := t.own[gap]; ok && !o.committed {
		gap = 0 // no need to fill it: its writer pokes the tail when it is settled
	}
	t.mu.Unlock()
	if foreign {
		if err := t.barrier(ctx); err != nil {
			return false, err
		}
	}
	t.dispatch(evs)
	if gap != 0 {
		if err := t.settle(ctx, gap); err != nil {
			return false, err
		}
		return true, nil
	}
	return n == limit, nil
}

// barrier returns once every commit visible before it was called is durable.
//
// InnoDB makes a commit visible to other transactions before its redo log reaches the
// disk. The tail can read a row that a crash of the database then takes back, and after
// the restart AUTO_INCREMENT hands the same revision to another write: a watcher told of
// the first would have seen a change that never happened, and would skip the second as
// one it already has. The redo log is flushed in order, so a commit of our own that
// succeeds after the read proves that everything the read saw is on disk. It costs one
// small write per batch the tail reads, which group commit shares with concurrent
// writers' flushes. Replicas spread these writes over barrierRows rows, so they seldom wait
// for each other's.
func (t *tail) barrier(ctx context.Context) error {
	if _, err := t.b.d.exec(ctx, nil, stmtBarrier, t.barrierName); err != nil {
		return fmt.Errorf("making the revisions read durable: %w", err)
	}
	return nil
}

// settle resolves a missing revision above the resolved one.
func (t *tail) settle(ctx context.Context, gap int64) error {
	compact, err := t.b.compactRevision(ctx, nil)
	if err != nil {
		return err
	}
	if gap < compact {
		// This process fell so far behind that history it had not read was compacted.
		// Its watchers cannot be served without a hole: end them, they will re-list.
		klog.InfoS("Change-log tail fell behind compaction; ending all watches", "revision", gap, "compacted", compact)
		t.mu.Lock()
		for s := range t.subs {
			s.fail(errCompacted)
		}
		t.forgetOwnUpTo(compact - 1)
		t.resolved = compact - 1
		t.mu.Unlock()
		return nil
	}
	return t.fill(ctx, gap)
}

// fillOwn settles a revision this process was handed and then rolled back, so the
// tail need not wait for it. It outlives the request that caused it.
func (t *tail) fillOwn(ctx context.Context, id int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := t.fill(ctx, id); err != nil {
		klog.V(2).InfoS("Settling a rolled-back revision failed; the tail will retry", "revision", id, "err", err)
	}
	t.poke()
}

// fill inserts a filler row at id unless a real row commits there first.
func (t *tail) fill(ctx context.Context, id int64) error {
	fillCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := t.b.d.exec(fillCtx, nil, stmtFillGap, id)
	switch {
	case err == nil:
		gapsFilled.Inc()
		t.settled([]int64{id}, []*event{{rev: id}}) // a filler: no key, nothing to dispatch
		return nil
	case errors.Is(err, errDuplicate):
		return nil
	case errors.Is(err, errRetry):
		// Lost to another transaction on that id: on a Galera cluster another replica's
		// filler or write certified first and this one is refused as a deadlock. Nothing is
		// settled; the caller reads the log again, as after a duplicate.
		return nil
	default:
		return fmt.Errorf("settling revision %d: %w", id, err)
	}
}

func (t *tail) dispatch(evs []*event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dispatchLocked(evs)
}

// dispatchOwnLocked dispatches, without reading the log, the run of own commits whose
// events are known that follows the resolved revision; no other row can hold those
// revisions. It reports whether there was any.
func (t *tail) dispatchOwnLocked() bool {
	var evs []*event
	for rev := t.resolved + 1; ; rev++ {
		o, ok := t.own[rev]
		if !ok || o.ev == nil {
			break
		}
		evs = append(evs, o.ev)
	}
	t.dispatchLocked(evs)
	return len(evs) > 0
}

func (t *tail) dispatchLocked(evs []*event) {
	if len(evs) == 0 {
		return
	}
	for _, e := range evs {
		if e.key == "" { // filler
			continue
		}
		for s := range t.subs {
			if s.matches(e.key) {
				s.push(e)
			}
		}
		watchEvents.Inc()
	}
	t.advance(evs[len(evs)-1].rev)
}

// advance moves the resolved revision.
func (t *tail) advance(rev int64) {
	t.forgetOwnUpTo(rev)
	t.resolved = rev
	tailRevision.Set(float64(t.resolved))
	close(t.advanced)
	t.advanced = make(chan struct{})
}

// forgetOwnUpTo drops the own revisions the tail has passed.
func (t *tail) forgetOwnUpTo(rev int64) {
	for r, o := range t.own {
		if r <= rev {
			if o.ev != nil {
				t.ownBytes -= o.ev.size()
			}
			delete(t.own, r)
		}
	}
}

func (t *tail) resolvedRevision() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resolved
}

// waitFor blocks until every revision up to rev is dispatched, or ctx ends.
func (t *tail) waitFor(ctx context.Context, rev int64) error {
	for {
		t.mu.Lock()
		ok, ch := t.resolved >= rev, t.advanced
		t.mu.Unlock()
		if ok {
			return nil
		}
		t.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for revision %d: %w", rev, ctx.Err())
		}
	}
}

func (t *tail) setErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
	if err == nil {
		t.lastOK = time.Now()
	}
}

func (t *tail) healthy() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastErr != nil {
		return fmt.Errorf("change-log tail is failing: %w", t.lastErr)
	}
	return nil
}

// subscribe registers s and returns the revision up to which events were dispatched
// before it: s receives every later event.
func (t *tail) subscribe(s *subscriber) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs[s] = struct{}{}
	watchers.Inc()
	return t.resolved
}

func (t *tail) unsubscribe(s *subscriber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subs[s]; ok {
		delete(t.subs, s)
		watchers.Dec()
	}
}

// progress sends a progress event at the resolved revision to the subscribers pick selects.
func (t *tail) progress(pick func(*subscriber) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := &event{rev: t.resolved, progress: true}
	for s := range t.subs {
		if pick(s) {
			s.push(e)
		}
	}
}

func (t *tail) bookmarkLoop(interval time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				t.progress(func(s *subscriber) bool { return s.bookmarks })
			}
		}
	}
}

func (t *tail) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.subs {
		s.fail(errBackendClosed)
	}
}

var (
	errCompacted     = errors.New("required revision has been compacted")
	errBackendClosed = errors.New("storage backend closed")
)

// subscriber is one watch's inbox. The tail never blocks on it: events queue here and
// the watch goroutine drains them at its own pace. The queue is bounded in bytes: a
// watch whose client falls further behind than maxBytes is ended, as the apiserver's
// watch cache ends a watcher that does not keep up, and its client resumes from the last
// revision it received (or lists again if that is compacted).
type subscriber struct {
	owner     *store
	key       string // exact key, or prefix ending in "/" when recursive
	recursive bool
	bookmarks bool // wants periodic progress events
	progressN bool // asked for progress notifications (watch cache style)
	maxBytes  int64

	mu     sync.Mutex
	queue  []*event
	bytes  int64 // what queue holds
	err    error
	signal chan struct{}
}

func newSubscriber(key string, recursive bool, maxBytes int64) *subscriber {
	return &subscriber{key: key, recursive: recursive, maxBytes: maxBytes, signal: make(chan struct{}, 1)}
}

func (s *subscriber) matches(key string) bool {
	if s.recursive {
		return strings.HasPrefix(key, s.key)
	}
	return key == s.key
}

func (s *subscriber) push(e *event) {
	s.mu.Lock()
	if s.err == nil {
		size := e.size()
		if len(s.queue) > 0 && s.bytes+size > s.maxBytes {
			// Too far behind: drop the queue now, not when the watch goroutine gets to it.
			s.err, s.queue, s.bytes = errTooSlow, nil, 0
			resource := ""
			if s.owner != nil {
				resource = s.owner.groupResource.String()
			}
			slowWatchersClosed.WithLabelValues(resource).Inc()
		} else {
			s.queue = append(s.queue, e)
			s.bytes += size
		}
	}
	s.mu.Unlock()
	s.notify()
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.notify()
}

func (s *subscriber) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// failed returns the error that ended the subscription, if any.
func (s *subscriber) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// next takes the oldest queued event; with none queued it returns the error that ended
// the subscription, or nil. Events leave the queue one at a time, so that what a watch
// holds besides its queue is the one event it is sending.
func (s *subscriber) next() (*event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil, s.err
	}
	e := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	s.bytes -= e.size()
	return e, nil
}

var errTooSlow = errors.New("watcher fell too far behind")

// readLogPage reads log rows in (from, to] for keys in [lo, hi) in revision order, in one
// statement outside any transaction: at most p.rows rows, and no more once they hold
// p.bytes. more says whether rows may remain after the last one returned.
func (b *Backend) readLogPage(ctx context.Context, from, to int64, lo, hi string, p *pageSize) (evs []*event, more bool, err error) {
	limit := p.rows
	rows, err := b.d.query(ctx, nil, stmtReplay, from, to, []byte(lo), []byte(hi), limit)
	if err != nil {
		return nil, false, err
	}
	var bytes int64
	cut := false
	for !cut && rows.Next() {
		var (
			e           event
			key         []byte
			value, prev []byte
		)
		if err := rows.Scan(&e.rev, &key, &e.created, &e.deleted, &value, &prev); err != nil {
			rows.Close()
			return nil, false, err
		}
		e.key, e.value, e.prevValue = string(key), value, prev
		evs = append(evs, &e)
		bytes += e.size()
		cut = bytes >= p.bytes
	}
	if err := rows.Close(); err != nil {
		return nil, false, err
	}
	p.observe(len(evs), cut)
	return evs, cut || len(evs) == limit, nil
}
