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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
)

// ListOrder asks for a list in the order of an indexed field's values, then of keys,
// among the objects whose value of that field starts with Prefix. The field's column
// is indexed on (value, key), so a page is one index range read however many objects
// the store holds.
type ListOrder struct {
	Field  string
	Prefix string
}

// OrderedLister is what this engine's stores offer beyond storage.Interface: lists in
// the order of an indexed field.
type OrderedLister interface {
	GetListInOrder(ctx context.Context, key string, order ListOrder, opts storage.ListOptions, listObj runtime.Object) error
}

var _ OrderedLister = (*store)(nil)

// orderedToken is the continue token of an ordered list: where the last page ended and
// the revision every page reads at (-1: the newest, after the first one was compacted).
type orderedToken struct {
	Version string `json:"v"`
	RV      int64  `json:"rv"`
	Value   []byte `json:"value"`
	// Key is relative to the list's key prefix, as in the apiserver's own tokens.
	Key []byte `json:"key"`
}

const orderedTokenVersion = "pipelines.kubeflow.org/ordered/v1"

func encodeOrderedToken(t orderedToken) (string, error) {
	t.Version = orderedTokenVersion
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeOrderedToken reads a token; every problem is a 400, with the token never quoted.
func decodeOrderedToken(s string, c Column) (orderedToken, error) {
	var t orderedToken
	bad := func(why string) (orderedToken, error) {
		return orderedToken{}, apierrors.NewBadRequest("invalid continue token: " + why)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return bad("not a token of this list")
	}
	switch {
	case t.Version != orderedTokenVersion:
		return bad("not a token of an ordered list")
	case t.RV == 0 || t.RV < -1:
		return bad("no resource version")
	case len(t.Value) > c.Size:
		return bad(fmt.Sprintf("its position is longer than field %s can hold", c.Field))
	case len(t.Key) == 0 || len(t.Key) > maxKeySize:
		return bad("its key is empty or longer than any key")
	}
	return t, nil
}

// GetListInOrder lists the objects under key (recursively) whose field order.Field
// starts with order.Prefix, ordered by that field, then by key. Paging (limit and
// continue), resourceVersion and resourceVersionMatch, and the predicate work as in
// GetList; the continue token is this method's own and remainingItemCount is never set.
// A page reads at most pageScanBudget rows: a predicate that matches few of them makes
// a short page (or an empty one) with a continue token, as the API allows.
func (s *store) GetListInOrder(ctx context.Context, key string, order ListOrder, opts storage.ListOptions, listObj runtime.Object) error {
	c, ok := s.indexed[order.Field]
	if !ok {
		return fmt.Errorf("field %s of %s is not indexed", order.Field, s.table.Name)
	}
	keyPrefix, err := s.prepareKey(key, true)
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
	pred := opts.Predicate
	cursor := orderedKV{order: order.Prefix}
	var withRev int64
	continuing := pred.Continue != ""
	if continuing {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
		}
		t, err := decodeOrderedToken(pred.Continue, c)
		if err != nil {
			return err
		}
		// A token never moves the cursor before the order's range: the SQL reads no further.
		if string(t.Value) >= order.Prefix {
			cursor = orderedKV{kv: kv{key: keyPrefix + string(t.Key)}, order: string(t.Value)}
		}
		withRev = max(t.RV, 0)
	} else {
		first := opts
		first.Predicate.Continue = ""
		if withRev, _, err = storage.ValidateListOptions(keyPrefix, s.versioner, first); err != nil {
			return err
		}
	}
	valueEnd := strings.Repeat("\xff", c.Size+1)
	if order.Prefix != "" {
		valueEnd = prefixEnd(order.Prefix)
	}
	paging := pred.Limit > 0
	newItem := newItemFunc(listObj, v)
	newIterator := func(rev int64) *orderedIterator {
		it := &orderedIterator{s: s, st: orderedListStatement(s.table, c), col: c, cursor: cursor,
			valueEnd: valueEnd, lo: keyPrefix, hi: prefixEnd(keyPrefix), rev: rev, batch: 1000}
		if paging {
			it.batch = int(min(pred.Limit+1, maxBatch))
		}
		return it
	}
	var (
		rev     int64
		last    orderedKV
		hasMore bool
		done    bool
	)
	// As GetList does (see listLatest), a list at the newest revision first tries one
	// statement that reads the newest revision with the first batch.
	if withRev == 0 && s.b.snapshotIsolation == sql.LevelDefault {
		resolved := s.b.tail.resolvedRevision()
		if minRV, err := s.versioner.ParseResourceVersion(opts.ResourceVersion); err == nil && minRV <= uint64(resolved) {
			before := v.Len()
			it := newIterator(resolved)
			it.st, it.latest = orderedLatestStatement(s.table, c), true
			if err := it.fill(ctx); err != nil {
				return err
			}
			if len(it.buf) > 0 && it.newest <= resolved {
				rev = resolved
				last, hasMore, err = s.fillOrdered(ctx, it, pred, paging, newItem, v)
				done = err == nil
				if err != nil && !errors.Is(err, errSnapshotNeeded) {
					return err
				}
			}
			if !done {
				v.SetLen(before)
			}
		}
	}
	if !done {
		if rev == 0 {
			if rev, err = s.listRevision(ctx, withRev, opts.ResourceVersion); err != nil {
				return err
			}
		}
		err = s.b.snapshot(ctx, func(tx *sql.Tx) error {
			// As in GetList: only a revision asked for can be below the compacted one.
			if withRev != 0 {
				compact, err := s.b.compactRevision(ctx, tx)
				if err != nil {
					return err
				}
				if rev < compact {
					if continuing {
						return s.orderedContinueExpired(cursor, keyPrefix)
					}
					return apierrors.NewResourceExpired(expiredMessage)
				}
			}
			it := newIterator(rev)
			it.tx = tx
			if err := it.restore(ctx); err != nil {
				return err
			}
			var err error
			last, hasMore, err = s.fillOrdered(ctx, it, pred, paging, newItem, v)
			return err
		})
		if err != nil {
			return err
		}
	}
	var token string
	if hasMore {
		if token, err = encodeOrderedToken(orderedToken{RV: rev, Value: []byte(last.order),
			Key: []byte(strings.TrimPrefix(last.key, keyPrefix))}); err != nil {
			return err
		}
	}
	if v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	return s.versioner.UpdateList(listObj, uint64(rev), token, nil)
}

// fillOrdered appends to v the items it yields that match pred, up to a page when paging.
func (s *store) fillOrdered(ctx context.Context, it *orderedIterator, pred storage.SelectionPredicate, paging bool, newItem func() runtime.Object, v reflect.Value) (last orderedKV, hasMore bool, err error) {
	presize(v, len(it.buf), pred.Limit)
	budget := pageScanBudget(pred.Limit)
	for read := 0; ; read++ {
		item, ok, err := it.next(ctx)
		if err != nil || !ok {
			return last, false, err
		}
		if paging && (int64(v.Len()) >= pred.Limit || read >= budget) {
			return last, true, nil
		}
		last = item
		if err := s.appendItem(ctx, item.kv, pred, newItem, v); err != nil {
			return last, false, err
		}
	}
}

// orderedContinueExpired is 410 Gone with a token that continues at the newest revision.
func (s *store) orderedContinueExpired(cursor orderedKV, keyPrefix string) error {
	statusErr := apierrors.NewResourceExpired(inconsistentContinueMessage)
	token, err := encodeOrderedToken(orderedToken{RV: -1, Value: []byte(cursor.order),
		Key: []byte(strings.TrimPrefix(cursor.key, keyPrefix))})
	if err != nil {
		return apierrors.NewResourceExpired(continueExpiredMessage)
	}
	statusErr.ErrStatus.ListMeta.Continue = token
	return statusErr
}

// orderedKV is a key's value at the list's revision with its value of the order's field.
type orderedKV struct {
	kv
	order string
}

func (a orderedKV) less(b orderedKV) bool {
	return a.order < b.order || (a.order == b.order && a.key < b.key)
}

// orderedIterator yields, in (field value, key) order after a cursor, the values the keys
// in [lo, hi) had at rev, as rangeIterator does in key order. Keys changed after rev are
// restored from the change log; their place in the order is read from the restored
// object, since the table holds their newer value.
type orderedIterator struct {
	s        *store
	tx       *sql.Tx
	st       statement
	col      Column
	cursor   orderedKV
	valueEnd string
	lo, hi   string
	rev      int64
	batch    int
	buf      []orderedKV
	done     bool
	restored []orderedKV
	// latest says the iterator reads one batch with orderedLatestStatement, which has no
	// changes after rev; newest is the change log's newest revision read with it.
	latest bool
	newest int64
}

func (it *orderedIterator) restore(ctx context.Context) error {
	rows, err := it.s.b.d.query(ctx, it.tx, stmtChangesAfter, it.rev, []byte(it.lo), []byte(it.hi))
	if err != nil {
		return err
	}
	var changed []restoredKey
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
			changed = append(changed, restoredKey{string(k), prev})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, r := range changed {
		item := orderedKV{kv: kv{key: r.key, rev: r.prevRev}}
		if err := it.s.b.d.queryRow(ctx, it.tx, stmtLogValue, []any{r.prevRev}, &item.value); err != nil {
			return fmt.Errorf("reading %q at revision %d: %w", r.key, r.prevRev, err)
		}
		order, ok, err := it.s.fieldOf(ctx, item.kv, it.col)
		if err != nil {
			return err
		}
		item.order = order
		if ok && it.cursor.less(item) && order < it.valueEnd {
			it.restored = append(it.restored, item)
		}
	}
	sort.Slice(it.restored, func(i, j int) bool { return it.restored[i].less(it.restored[j]) })
	return nil
}

// fieldOf is the value of c's field in a stored object; false if it does not decode
// (the list leaves such an object out anyway).
func (s *store) fieldOf(ctx context.Context, item kv, c Column) (string, bool, error) {
	data, _, err := s.getTransformer().TransformFromStorage(ctx, item.value, authenticatedData(item.key))
	if err != nil {
		return "", false, storage.NewInternalError(fmt.Errorf("unable to transform key %q: %w", item.key, err))
	}
	obj, _, err := s.codec.Decode(data, nil, s.newFunc())
	if err != nil {
		return "", false, nil
	}
	_, fields, err := s.getAttrs(obj)
	if err != nil {
		return "", false, nil
	}
	return fields[c.Field], true, nil
}

func (it *orderedIterator) next(ctx context.Context) (orderedKV, bool, error) {
	if len(it.buf) == 0 && !it.done {
		if it.latest {
			return orderedKV{}, false, errSnapshotNeeded
		}
		if err := it.fill(ctx); err != nil {
			return orderedKV{}, false, err
		}
	}
	if len(it.restored) > 0 && (len(it.buf) == 0 || it.restored[0].less(it.buf[0])) {
		item := it.restored[0]
		it.restored = it.restored[1:]
		return item, true, nil
	}
	if len(it.buf) == 0 {
		return orderedKV{}, false, nil
	}
	item := it.buf[0]
	it.buf = it.buf[1:]
	return item, true, nil
}

func (it *orderedIterator) fill(ctx context.Context) error {
	rev := it.rev
	if it.latest {
		rev = math.MaxInt64 // the snapshot's newest revision is checked after
	}
	rows, err := it.s.b.d.query(ctx, it.tx, it.st, []byte(it.cursor.order), []byte(it.cursor.order), []byte(it.cursor.key),
		[]byte(it.valueEnd), []byte(it.lo), []byte(it.hi), rev, it.batch)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var (
			k, order []byte
			item     orderedKV
		)
		dest := []any{&k, &item.rev, &item.value, &order}
		if it.latest {
			dest = append(dest, &it.newest)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		item.key, item.order = string(k), string(order)
		it.buf = append(it.buf, item)
		n++
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if n < it.batch {
		it.done = true
	} else {
		it.cursor = it.buf[len(it.buf)-1]
		it.batch = min(it.batch*2, maxBatch)
	}
	return nil
}
