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
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// Creates are group-committed. Up to createSlots creates of a resource run at once,
// each in its own transaction, as every other write does. A create that arrives while
// all slots are busy waits in a queue, and the next slot to free up writes the queue's
// creates together, in one transaction of a few multi-row statements. Alone, a create
// waits for nothing; under load, creates share the begin, the statements and the
// commit, which is most of what a create costs the database.
//
// A batch never fails a create that would have succeeded alone: unless the batch
// commits, every create in it is written again on its own (so one that exists, a
// deadlock or a revision the tail filled touches only itself).
const createSlots = 2

// createBatcher queues the creates of one store.
type createBatcher struct {
	mu      sync.Mutex
	running int
	queue   []*pendingCreate
}

type pendingCreate struct {
	ctx context.Context
	change

	state atomic.Int32 // pendingWaiting, then pendingTaken by a batch or pendingAbandoned by its caller
	done  chan struct{}
	rev   int64
	err   error
}

const (
	pendingWaiting int32 = iota
	pendingTaken
	pendingAbandoned
)

func (p *pendingCreate) finish(rev int64, err error) {
	p.rev, p.err = rev, err
	close(p.done)
}

// create writes a new key and returns its revision, or errConflict if it exists.
func (s *store) create(ctx context.Context, c change) (int64, error) {
	q := &s.creates
	q.mu.Lock()
	if q.running < createSlots {
		q.running++
		q.mu.Unlock()
		defer s.nextBatch()
		return s.write(ctx, c)
	}
	p := &pendingCreate{ctx: ctx, change: c, done: make(chan struct{})}
	q.queue = append(q.queue, p)
	q.mu.Unlock()
	select {
	case <-p.done:
		return p.rev, p.err
	case <-ctx.Done():
		if p.state.CompareAndSwap(pendingWaiting, pendingAbandoned) {
			return 0, fmt.Errorf("waiting to be written: %w", ctx.Err())
		}
		// Its batch has it: the create may still happen, as when a commit's reply is lost.
		return 0, fmt.Errorf("writing: %w", ctx.Err())
	}
}

// nextBatch is called by every create that held a slot, when it is done: the slot
// goes on writing batches while creates are queued, and is freed when none are.
func (s *store) nextBatch() {
	if batch := s.creates.takeOrFree(); batch != nil {
		go func() {
			for ; batch != nil; batch = s.creates.takeOrFree() {
				s.writeBatch(batch)
			}
		}()
	}
}

// takeOrFree takes the next batch, or frees the caller's slot if no create is queued.
func (c *createBatcher) takeOrFree() []*pendingCreate {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch := c.take()
	if len(batch) == 0 {
		c.running--
		return nil
	}
	return batch
}

// take removes the next batch from the queue: the largest batch size's worth of
// waiting creates of distinct keys (a second create of a key stays queued for a later
// batch, where it will find the key taken).
func (c *createBatcher) take() []*pendingCreate {
	keys := map[string]bool{}
	eligible := 0
	for _, p := range c.queue {
		if p.state.Load() == pendingWaiting && !keys[p.key] {
			keys[p.key] = true
			eligible++
		}
	}
	size := batchSize(eligible)
	clear(keys)
	var batch, rest []*pendingCreate
	for _, p := range c.queue {
		switch {
		case len(batch) < size && !keys[p.key] && p.state.CompareAndSwap(pendingWaiting, pendingTaken):
			keys[p.key] = true
			batch = append(batch, p)
		case p.state.Load() != pendingAbandoned:
			rest = append(rest, p)
		}
	}
	c.queue = rest
	return batch
}

// batchSize is the largest batch size up to n creates: 0 for none, 1 for a create alone.
func batchSize(n int) int {
	size := min(n, 1)
	for _, b := range batchSizes {
		if b <= n {
			size = b
		}
	}
	return size
}

// writeBatch writes the creates of a batch and tells each its result. A batch that is
// not of a batch size (its callers gave up while it was taken) goes in parts that are.
func (s *store) writeBatch(batch []*pendingCreate) {
	if _, ok := s.stmts.batches[len(batch)]; !ok {
		for len(batch) > 0 {
			size := batchSize(len(batch))
			if size == 1 {
				p := batch[0]
				p.finish(s.write(p.ctx, p.change))
			} else {
				s.writeBatch(batch[:size])
			}
			batch = batch[size:]
		}
		return
	}
	createBatchSize.Observe(float64(len(batch)))
	ctx, cancel := batchContext(batch)
	defer cancel()
	// Rows are locked in key order, so batches that share keys cannot deadlock each other.
	sort.Slice(batch, func(i, j int) bool { return batch[i].key < batch[j].key })
	revs, err := s.writeBatchOnce(ctx, batch)
	var committing *commitError
	switch {
	case err == nil:
		for i, p := range batch {
			p.finish(revs[i], nil)
		}
		return
	case errors.As(err, &committing) && !errors.Is(err, errRetry):
		// The commit may have happened: neither retried nor reported as anything else.
		// A deadlock reply to the commit (a Galera certification conflict) says it did not.
		for _, p := range batch {
			p.finish(0, err)
		}
		return
	}
	klog.V(4).InfoS("Writing a batch of creates one by one", "size", len(batch), "err", err)
	for _, p := range batch {
		p.finish(s.write(p.ctx, p.change))
	}
}

// batchContext lets a batch run until the last of its callers' deadlines, whichever
// caller gives up first.
func batchContext(batch []*pendingCreate) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, p := range batch {
		d, ok := p.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), last)
}

// commitError is a failed commit, which may have happened nonetheless.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// errBatchConflict means a batch's key exists; its creates are then written one by one.
var errBatchConflict = errors.New("a key of the batch exists")

// writeBatchOnce is write() for several creates: the rows first, at revision 0 (see
// writeOnce for why), then their change-log rows, then each row's revision.
func (s *store) writeBatchOnce(ctx context.Context, batch []*pendingCreate) ([]int64, error) {
	n := len(batch)
	st := s.stmts.batches[n]
	tx, err := s.b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("starting a write transaction: %w", translate(err))
	}
	defer func() { _ = tx.Rollback() }()

	rowArgs := make([]any, 0, n*(2+len(s.table.Columns)))
	logArgs := make([]any, 0, 2*n)
	for _, p := range batch {
		rowArgs = append(append(rowArgs, []byte(p.key), p.exp), p.cols...)
		logArgs = append(logArgs, []byte(p.key), p.value)
	}
	res, err := s.b.d.exec(ctx, tx, st.insertRows, rowArgs...)
	if err != nil {
		return nil, err
	}
	if affected, err := res.RowsAffected(); err != nil || affected != int64(n) {
		return nil, errors.Join(errBatchConflict, err)
	}
	res, err = s.b.d.exec(ctx, tx, st.insertLog, logArgs...)
	if err != nil {
		return nil, err
	}
	first, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	revs := make([]int64, n)
	if step := s.b.logIDStep; step > 0 {
		for i := range revs {
			revs[i] = first + int64(i)*step
		}
	} else if revs, err = s.batchRevisions(ctx, tx, batch, first); err != nil {
		return nil, err
	}
	own := s.b.tail.handed(revs...)
	defer own.abandon()
	setArgs := make([]any, 0, 3*n)
	for i, p := range batch {
		setArgs = append(setArgs, []byte(p.key), revs[i])
	}
	for _, p := range batch {
		setArgs = append(setArgs, []byte(p.key))
	}
	res, err = s.b.d.exec(ctx, tx, st.setRevisions, setArgs...)
	if err != nil {
		return nil, err
	}
	if affected, err := res.RowsAffected(); err != nil || affected != int64(n) {
		return nil, fmt.Errorf("stamped %d of %d rows with their revisions: %w", affected, n, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, &commitError{fmt.Errorf("committing revisions %v: %w", revs, translate(err))}
	}
	evs := make([]*event, n)
	for i, p := range batch {
		evs[i] = p.event(revs[i])
	}
	own.committed(evs...)
	return revs, nil
}

// batchRevisions finds the ids the batch's change-log rows were handed. InnoDB hands a
// multi-row insert consecutive ids unless innodb_autoinc_lock_mode is 2, where other
// inserts' ids may come between; the rows are therefore found by key among the first
// 2n from the first id on. Each key is in the batch once and, its row being locked by
// this transaction, in no other transaction's rows from that id on.
func (s *store) batchRevisions(ctx context.Context, tx *sql.Tx, batch []*pendingCreate, first int64) ([]int64, error) {
	rows, err := s.b.d.query(ctx, tx, stmtLogIDs, first, 2*len(batch))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	ids := make(map[string]int64, len(batch))
	for rows.Next() {
		var (
			id  int64
			key []byte
		)
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		ids[string(key)] = id
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	revs := make([]int64, len(batch))
	for i, p := range batch {
		id, ok := ids[p.key]
		if !ok {
			return nil, fmt.Errorf("the change-log row of %q is not among the %d rows from revision %d", p.key, 2*len(batch), first)
		}
		revs[i] = id
	}
	return revs, nil
}
