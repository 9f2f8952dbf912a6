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
	"reflect"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/storage"
)

const (
	maxBatch = 10000
	// Messages as etcd3 words them: clients and tests match on them.
	expiredMessage         = "The resourceVersion for the provided list is too old."
	continueExpiredMessage = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter."
	inconsistentContinueMessage = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter, or use the continue token in this response to " +
		"retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - " +
		"objects that were created, modified, or deleted between the time the first chunk was returned and now may " +
		"show up in the list."
)

// kv is one key's value at the revision a list reads.
type kv struct {
	key   string
	rev   int64
	value []byte
}

// GetList implements storage.Interface.
func (s *store) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	keyPrefix, err := s.prepareKey(key, opts.Recursive)
	if err != nil {
		return err
	}
	listPtr, err := meta.GetItemsPtr(listObj)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(listPtr)
	if err != nil || v.Kind() != reflect.Slice {
		return fmt.Errorf("need ptr to slice: %w", err)
	}
	withRev, continueKey, err := storage.ValidateListOptions(keyPrefix, s.versioner, opts)
	if err != nil {
		return err
	}
	// A token this store issued starts after a key, at the key followed by a zero byte.
	if len(continueKey) > maxKeySize+1 {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid continue token: it starts at a key of %d bytes; keys are at most %d", len(continueKey), maxKeySize))
	}
	lo, hi := keyPrefix, prefixEnd(keyPrefix)
	if !opts.Recursive {
		hi = keyPrefix + "\x00"
	}
	if continueKey != "" {
		lo = continueKey
	}
	pred := opts.Predicate
	paging := pred.Limit > 0
	newItem := newItemFunc(listObj, v)
	var (
		rev  int64
		page listEnd
		done bool
	)
	if withRev == 0 {
		before := v.Len()
		if rev, page, done, err = s.listLatest(ctx, lo, hi, opts.ResourceVersion, pred, paging, newItem, v); err != nil {
			return err
		}
		if !done {
			v.SetLen(before)
		}
	}
	if !done {
		if rev == 0 {
			if rev, err = s.listRevision(ctx, withRev, opts.ResourceVersion); err != nil {
				return err
			}
		}
		err = s.b.snapshot(ctx, func(tx *sql.Tx) error {
			// The current revision is never below the compacted one; only a revision asked
			// for (a continue token, resourceVersion=N) can be.
			if withRev != 0 {
				compact, err := s.b.compactRevision(ctx, tx)
				if err != nil {
					return err
				}
				if rev < compact {
					if len(pred.Continue) > 0 {
						return continueExpired(continueKey, keyPrefix)
					}
					return apierrors.NewResourceExpired(expiredMessage)
				}
			}
			it := s.newRangeIterator(lo, hi, rev, pred, paging)
			if err := it.readChangesAfter(ctx, tx); err != nil {
				return err
			}
			page, err = s.fillList(ctx, it, lo, pred, paging, newItem, v)
			return err
		})
		if err != nil {
			return err
		}
	}
	continueValue, remaining, err := storage.PrepareContinueToken(page.lastKey, keyPrefix, rev, page.count, page.hasMore, opts)
	if err != nil {
		return err
	}
	if !page.counted {
		remaining = nil
	}
	if v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	return s.versioner.UpdateList(listObj, uint64(rev), continueValue, remaining)
}

// listEnd is what a list found past its items.
type listEnd struct {
	lastKey string
	hasMore bool
	count   int64
	counted bool
}

// presize gives an empty list room for the rows already read, up to a page: a page of 100
// runs grown one append at a time would copy 255 of them (140 kB) on the way.
func presize(v reflect.Value, rows int, limit int64) {
	if limit > 0 {
		rows = int(min(int64(rows), limit))
	}
	if v.Len() == 0 && v.Cap() < rows {
		v.Set(reflect.MakeSlice(v.Type(), 0, rows))
	}
}

// errSnapshotNeeded ends a list read by listLatest that needs more than its first batch.
var errSnapshotNeeded = errors.New("the list needs more rows than its first statement read")

// fillList appends to v the items it yields that match pred, up to a page when paging, and
// counts the rest of the range when the page has more and no selector.
func (s *store) fillList(ctx context.Context, it *rangeIterator, lo string, pred storage.SelectionPredicate, paging bool, newItem func() runtime.Object, v reflect.Value) (listEnd, error) {
	var page listEnd
	presize(v, len(it.buf), pred.Limit)
	budget := pageScanBudget(pred.Limit)
	for read := 0; ; read++ {
		item, ok, err := it.next(ctx)
		if err != nil {
			return page, err
		}
		if !ok {
			break
		}
		if paging && (int64(v.Len()) >= pred.Limit || read >= budget) {
			page.hasMore = true
			break
		}
		page.lastKey = item.key
		if err := s.appendItem(ctx, item, pred, newItem, v); err != nil {
			return page, err
		}
	}
	if page.hasMore && pred.Empty() {
		var err error
		page.count, page.counted, err = it.count(ctx, lo)
		return page, err
	}
	return page, nil
}

// listLatest answers a list at the newest revision with one statement where it can,
// instead of the newest revision's statement, a transaction, and the read of the changes
// after the revision within it. The statement reads the range's first batch with, in the
// same snapshot, the change log's newest revision and, for a page that may count the rest
// of its range, the range's size. Every revision up to the tail's resolved one, read just
// before, was committed, and durable, or abandoned for good before that snapshot was
// taken: if the snapshot holds no newer revision, it is the state at the resolved
// revision, which is at least the revision of every write acknowledged before the list.
//
// done says the list is answered, at rev. Otherwise rev, when not 0, is a revision the
// caller may read the list at in a snapshot (the page needs more than one batch); 0 says
// the snapshot held a revision the tail has not resolved yet (a write in flight), or the
// range was empty and the statement returned no revision, or the list asks for a newer
// revision than the resolved one.
func (s *store) listLatest(ctx context.Context, lo, hi, minimum string, pred storage.SelectionPredicate, paging bool, newItem func() runtime.Object, v reflect.Value) (int64, listEnd, bool, error) {
	// One statement is one snapshot only where the sessions' isolation makes it one.
	if s.b.snapshotIsolation != sql.LevelDefault {
		return 0, listEnd{}, false, nil
	}
	resolved := s.b.tail.resolvedRevision()
	if minimum != "" {
		if minRV, err := s.versioner.ParseResourceVersion(minimum); err != nil || minRV > uint64(resolved) {
			return 0, listEnd{}, false, nil
		}
	}
	it := s.newRangeIterator(lo, hi, resolved, pred, paging)
	counting := paging && pred.Empty()
	args := make([]any, 0, 6+len(it.args))
	if counting {
		args = append(args, []byte(lo), []byte(hi), maxCounted+1)
	}
	args = append(args, []byte(lo), []byte(hi))
	args = append(args, it.args...)
	args = append(args, it.batch)
	rows, err := s.b.d.query(ctx, nil, s.stmts.latestListStatement(s.table.Name, it.filters, counting), args...)
	if err != nil {
		return 0, listEnd{}, false, err
	}
	var newest int64
	it.latestCount = -1
	for rows.Next() {
		var (
			k    []byte
			item kv
		)
		dest := []any{&k, &item.rev, &item.value, &newest}
		if counting {
			dest = append(dest, &it.latestCount)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, listEnd{}, false, err
		}
		item.key = string(k)
		it.buf = append(it.buf, item)
	}
	if err := rows.Close(); err != nil {
		return 0, listEnd{}, false, err
	}
	if len(it.buf) == 0 || newest > resolved {
		return 0, listEnd{}, false, nil
	}
	it.latest = true
	it.filled(len(it.buf))
	page, err := s.fillList(ctx, it, lo, pred, paging, newItem, v)
	if errors.Is(err, errSnapshotNeeded) {
		return resolved, listEnd{}, false, nil
	}
	return resolved, page, err == nil, err
}

// listRevision is the revision a list reads at: the one asked for, or the current one.
func (s *store) listRevision(ctx context.Context, withRev int64, minimum string) (int64, error) {
	if withRev == 0 {
		rev, err := s.b.CurrentRevision(ctx)
		if err != nil {
			return 0, err
		}
		return rev, s.validateMinimumResourceVersion(ctx, minimum, rev)
	}
	if withRev <= s.b.tail.resolvedRevision() {
		return withRev, nil
	}
	current, err := s.b.CurrentRevision(ctx)
	if err != nil {
		return 0, err
	}
	if withRev > current {
		return 0, storage.NewTooLargeResourceVersionError(uint64(withRev), uint64(current), 0)
	}
	return withRev, nil
}

func continueExpired(continueKey, keyPrefix string) error {
	// A token with revision -1 continues at the latest revision, inconsistently.
	token, err := storage.EncodeContinue(continueKey, keyPrefix, -1)
	if err != nil {
		utilruntime.HandleError(err)
		return apierrors.NewResourceExpired(continueExpiredMessage)
	}
	statusErr := apierrors.NewResourceExpired(inconsistentContinueMessage)
	statusErr.ErrStatus.ListMeta.Continue = token
	return statusErr
}

func (s *store) appendItem(ctx context.Context, item kv, pred storage.SelectionPredicate, newItem func() runtime.Object, v reflect.Value) error {
	if err := ctx.Err(); err != nil {
		return storage.NewTimeoutError(item.key, "request did not complete within requested timeout")
	}
	data, _, err := s.getTransformer().TransformFromStorage(ctx, item.value, authenticatedData(item.key))
	if err != nil {
		return storage.NewInternalError(fmt.Errorf("unable to transform key %q: %w", item.key, err))
	}
	obj := s.b.decoded.object(item.key, item.rev, reflect.PointerTo(v.Type().Elem()))
	if obj == nil {
		if obj, _, err = s.codec.Decode(data, nil, newItem()); err != nil {
			skipCorrupt(item.key, err)
			return nil
		}
		if err := s.versioner.UpdateObject(obj, uint64(item.rev)); err != nil {
			return fmt.Errorf("setting the resource version of %q: %w", item.key, err)
		}
		s.b.decoded.add(item.key, item.rev, len(item.value), obj)
	}
	if matched, err := pred.Matches(obj); err == nil && matched {
		v.Set(reflect.Append(v, reflect.ValueOf(obj).Elem()))
	}
	return nil
}

// rangeIterator yields, in key order, the value every key in [lo, hi) had at rev.
//
// The resource table holds each key's current version. Keys unchanged since rev are
// read from it with revision <= rev. Keys changed after rev have a newer revision there,
// or no row at all if deleted; the first change after rev names the version they had
// at rev (prev_revision), which is read back from the change log. For a list at the
// current revision that second set is empty or tiny.
type rangeIterator struct {
	s        *store
	tx       *sql.Tx
	hi       string
	rev      int64
	cursor   string // next key to read from the table
	batch    int
	filters  []Column
	args     []any
	buf      []kv
	done     bool // the table has nothing more at or after cursor
	restored []restoredKey
	// restoredTotal is how many keys of [lo, hi) were restored, consumed or not.
	restoredTotal int
	// latest says the iterator holds the one batch listLatest read, which has no
	// changes after rev; latestCount is the range's size read with it, -1 if not read.
	latest      bool
	latestCount int64
}

type restoredKey struct {
	key     string
	prevRev int64
}

func (s *store) newRangeIterator(lo, hi string, rev int64, pred storage.SelectionPredicate, paging bool) *rangeIterator {
	it := &rangeIterator{s: s, hi: hi, rev: rev, cursor: lo, batch: 1000}
	if paging {
		// One more than the page, so that "is there more" is usually answered by the same read.
		it.batch = int(min(pred.Limit+1, maxBatch))
	}
	it.filters, it.args = s.sqlFilters(pred)
	if it.filters != nil && it.batch < 64 {
		it.batch = 64 // a selective filter leaves pages thin; read more per query
	}
	return it
}

// readChangesAfter finds, in tx, the keys of the range changed after the iterator's revision.
func (it *rangeIterator) readChangesAfter(ctx context.Context, tx *sql.Tx) error {
	it.tx = tx
	rows, err := it.s.b.d.query(ctx, tx, stmtChangesAfter, it.rev, []byte(it.cursor), []byte(it.hi))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for rows.Next() {
		var (
			k    []byte
			prev int64
		)
		if err := rows.Scan(&k, &prev); err != nil {
			rows.Close()
			return err
		}
		if seen[string(k)] || len(k) == 0 {
			continue
		}
		seen[string(k)] = true
		if prev > 0 && prev <= it.rev {
			it.restored = append(it.restored, restoredKey{string(k), prev})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	sort.Slice(it.restored, func(i, j int) bool { return it.restored[i].key < it.restored[j].key })
	it.restoredTotal = len(it.restored)
	return nil
}

// sqlFilters turns equality requirements on indexed fields into column conditions.
// The predicate is still applied to every decoded object: the SQL only narrows the read.
// Values travel as arguments; a value longer than its column matches no row, as no
// such value can have been written.
func (s *store) sqlFilters(pred storage.SelectionPredicate) ([]Column, []any) {
	if pred.Field == nil || len(s.indexed) == 0 {
		return nil, nil
	}
	var cols []Column
	var args []any
	for _, r := range pred.Field.Requirements() {
		c, ok := s.indexed[r.Field]
		if !ok || (r.Operator != selection.Equals && r.Operator != selection.DoubleEquals) {
			continue
		}
		cols = append(cols, c)
		args = append(args, []byte(r.Value))
	}
	return cols, args
}

func (it *rangeIterator) next(ctx context.Context) (kv, bool, error) {
	if len(it.buf) == 0 && !it.done {
		if it.latest {
			return kv{}, false, errSnapshotNeeded
		}
		if err := it.fill(ctx); err != nil {
			return kv{}, false, err
		}
	}
	// Restored keys before the next table row (or before the end, once the table is
	// exhausted) come first.
	if len(it.restored) > 0 {
		r := it.restored[0]
		if len(it.buf) == 0 || r.key < it.buf[0].key {
			it.restored = it.restored[1:]
			var value []byte
			if err := it.s.b.d.queryRow(ctx, it.tx, stmtLogValue, []any{r.prevRev}, &value); err != nil {
				return kv{}, false, fmt.Errorf("reading %q at revision %d: %w", r.key, r.prevRev, err)
			}
			return kv{key: r.key, rev: r.prevRev, value: value}, true, nil
		}
	}
	if len(it.buf) == 0 {
		return kv{}, false, nil
	}
	item := it.buf[0]
	it.buf = it.buf[1:]
	return item, true, nil
}

// fill reads the next batch of table rows.
func (it *rangeIterator) fill(ctx context.Context) error {
	st := it.s.stmts.listStatement(it.s.table.Name, it.filters)
	args := append([]any{[]byte(it.cursor), []byte(it.hi), it.rev}, it.args...)
	args = append(args, it.batch)
	rows, err := it.s.b.d.query(ctx, it.tx, st, args...)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var (
			k     []byte
			item  kv
			value []byte
		)
		if err := rows.Scan(&k, &item.rev, &value); err != nil {
			rows.Close()
			return err
		}
		item.key, item.value = string(k), value
		it.buf = append(it.buf, item)
		n++
	}
	if err := rows.Close(); err != nil {
		return err
	}
	it.filled(n)
	return nil
}

// filled moves the iterator past a batch of n rows just read.
func (it *rangeIterator) filled(n int) {
	if n < it.batch {
		it.done = true
	} else {
		it.cursor = it.buf[len(it.buf)-1].key + "\x00"
		it.batch = min(it.batch*2, maxBatch)
	}
}

// maxCounted bounds the count behind remainingItemCount: the rest of a range is counted
// only up to this many keys, so that a page costs the same however many follow it.
// Beyond it remainingItemCount is left out, which the API allows ("clients should not
// rely on the remainingItemCount to be set or to be exact"); kubectl and client-go's
// pager never read it.
const maxCounted = 1000

// count is how many keys [lo, hi) held at the iterator's revision, if at most maxCounted
// rows of the table are in that range; false otherwise. lo is where the iterator began.
func (it *rangeIterator) count(ctx context.Context, lo string) (int64, bool, error) {
	if it.latest {
		return it.latestCount, it.latestCount >= 0 && it.latestCount <= maxCounted, nil
	}
	var n int64
	if err := it.s.b.d.queryRow(ctx, it.tx, it.s.stmts.count, []any{[]byte(lo), []byte(it.hi), it.rev, maxCounted + 1}, &n); err != nil {
		return 0, false, err
	}
	if n > maxCounted {
		return 0, false, nil
	}
	// The keys changed after rev are those the iterator found in the same snapshot, from
	// the same lo: consumed or not, they are all in the range.
	return n + int64(it.restoredTotal), true, nil
}

// pageScanBudget bounds the rows one page of a list reads: a selector evaluated on the
// decoded objects (labels, fields without a column) that matches few rows would
// otherwise read the whole range for one page. Past it the page ends short, possibly
// empty, with a continue token after the last row read, as the API allows ("setting a
// limit may return fewer than the requested amount of items (up to zero items)").
func pageScanBudget(limit int64) int {
	return int(min(limit, 1<<40)) + 1000
}

// statePage reads a page of the values the keys in [lo, hi) had at rev, in key order,
// for a watch's initial events: at most about p.bytes (at least one key), and returns
// them with the key the next page starts at, "" when the range is done.
//
// It runs outside any transaction, each statement on its own, and is still exact: the
// table's rows at revision <= rev are keys unchanged since rev when the statement ran;
// every key in the page's range that changed after rev by then is found afterwards
// among the change-log rows after rev, with its value at rev (as rangeIterator restores
// them). A key in both has the same value in both. The caller checks, after the page,
// that rev has not been compacted meanwhile.
func (s *store) statePage(ctx context.Context, lo, hi string, rev int64, pred storage.SelectionPredicate, p *pageSize) ([]kv, string, error) {
	filters, filterArgs := s.sqlFilters(pred)
	limit := p.rows
	args := append([]any{[]byte(lo), []byte(hi), rev}, filterArgs...)
	rows, err := s.b.d.query(ctx, nil, s.stmts.listStatement(s.table.Name, filters), append(args, limit)...)
	if err != nil {
		return nil, "", err
	}
	var (
		items []kv
		bytes int64
		cut   bool
	)
	for !cut && rows.Next() {
		var (
			k    []byte
			item kv
		)
		if err := rows.Scan(&k, &item.rev, &item.value); err != nil {
			rows.Close()
			return nil, "", err
		}
		item.key = string(k)
		items = append(items, item)
		bytes += int64(len(item.key) + len(item.value))
		cut = bytes >= p.bytes
	}
	if err := rows.Close(); err != nil {
		return nil, "", err
	}
	p.observe(len(items), cut)
	end := hi
	if cut || len(items) == limit {
		end = items[len(items)-1].key + "\x00"
	}

	// Keys changed after rev: their first change names their value at rev.
	inTable := make(map[string]bool, len(items))
	for _, item := range items {
		inTable[item.key] = true
	}
	rows, err = s.b.d.query(ctx, nil, stmtChangesAfter, rev, []byte(lo), []byte(end))
	if err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var restored []restoredKey
	for rows.Next() {
		var (
			k    []byte
			prev int64
		)
		if err := rows.Scan(&k, &prev); err != nil {
			rows.Close()
			return nil, "", err
		}
		key := string(k)
		if seen[key] || len(k) == 0 {
			continue
		}
		seen[key] = true
		if prev > 0 && prev <= rev && !inTable[key] {
			restored = append(restored, restoredKey{key, prev})
		}
	}
	if err := rows.Close(); err != nil {
		return nil, "", err
	}
	if len(restored) == 0 {
		if end == hi {
			end = ""
		}
		return items, end, nil
	}

	// Merge in key order, reading restored values as they come, within the budget.
	for _, r := range restored {
		items = append(items, kv{key: r.key, rev: r.prevRev})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	bytes = 0
	for i := range items {
		if items[i].value == nil {
			if err := s.b.d.queryRow(ctx, nil, stmtLogValue, []any{items[i].rev}, &items[i].value); err != nil {
				return nil, "", fmt.Errorf("reading %q at revision %d: %w", items[i].key, items[i].rev, err)
			}
		}
		bytes += int64(len(items[i].key) + len(items[i].value))
		if bytes >= p.bytes && i < len(items)-1 {
			return items[:i+1], items[i].key + "\x00", nil
		}
	}
	if end == hi {
		end = ""
	}
	return items, end, nil
}
