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
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/value"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2"
)

// StoreOptions describe one resource's store.
type StoreOptions struct {
	Codec runtime.Codec
	// Transformer encrypts or otherwise transforms values at rest; nil stores them as encoded.
	Transformer value.Transformer
	// Prefix is prepended to every key, like etcd's --etcd-prefix ("/registry").
	Prefix string
	// ResourcePrefix is the registry's prefix for this resource; it selects the table.
	ResourcePrefix string
	GroupResource  schema.GroupResource
	NewFunc        func() runtime.Object
	NewListFunc    func() runtime.Object
	// GetAttrs yields the field values copied into the table's indexed columns.
	GetAttrs storage.AttrFunc
}

type store struct {
	b              *Backend
	table          Table
	stmts          tableStatements
	indexed        map[string]Column // by field name
	codec          runtime.Codec
	versioner      storage.Versioner
	transformer    atomic.Pointer[value.Transformer]
	pathPrefix     string
	resourcePrefix string
	groupResource  schema.GroupResource
	newFunc        func() runtime.Object
	objType        reflect.Type // newFunc's; nil without newFunc
	newListFunc    func() runtime.Object
	getAttrs       storage.AttrFunc
	sizeEstimation atomic.Bool
	creates        createBatcher
}

var _ storage.Interface = (*store)(nil)

// NewStore returns the storage for one resource. Its table is created, or given the
// indexed columns it lacks, before it returns.
func (b *Backend) NewStore(ctx context.Context, opts StoreOptions) (storage.Interface, error) {
	if opts.ResourcePrefix == "" || opts.ResourcePrefix == "/" || !strings.HasPrefix(opts.ResourcePrefix, "/") {
		return nil, fmt.Errorf("resource prefix %q must start with / and name a resource", opts.ResourcePrefix)
	}
	pathPrefix := path.Join("/", opts.Prefix)
	if !strings.HasSuffix(pathPrefix, "/") {
		pathPrefix += "/"
	}
	t, ok := b.tables[strings.TrimSuffix(opts.ResourcePrefix, "/")]
	if !ok {
		t = Table{Name: DefaultTable}
	}
	s := &store{
		b:              b,
		table:          t,
		stmts:          newTableStatements(t),
		indexed:        map[string]Column{},
		codec:          opts.Codec,
		versioner:      storage.APIObjectVersioner{},
		pathPrefix:     pathPrefix,
		resourcePrefix: opts.ResourcePrefix,
		groupResource:  opts.GroupResource,
		newFunc:        opts.NewFunc,
		newListFunc:    opts.NewListFunc,
		getAttrs:       opts.GetAttrs,
	}
	if opts.NewFunc != nil {
		s.objType = reflect.TypeOf(opts.NewFunc())
	}
	for _, c := range t.Columns {
		s.indexed[c.Field] = c
	}
	tr := opts.Transformer
	if tr == nil {
		tr = identity{}
	}
	s.transformer.Store(&tr)
	if len(t.Columns) > 0 && s.getAttrs == nil {
		return nil, fmt.Errorf("table %s has indexed columns but resource %s has no GetAttrs", t.Name, opts.ResourcePrefix)
	}
	// A resource's own table exists once its store does, columns or not.
	if t.Name != DefaultTable {
		pending, err := ensureTable(ctx, b.d, t)
		if err != nil {
			return nil, err
		}
		// Not bounded by ctx, which bounds making a store: a backfill reads, decodes and
		// updates every stored object; until it is done the store is not made and the
		// server not ready.
		if pending {
			if err := s.backfill(b.runContext()); err != nil {
				return nil, err
			}
		}
	}
	b.start(b.runContext(), "ttl "+opts.ResourcePrefix, s.sweepExpired)
	return s, nil
}

type identity struct{}

func (identity) TransformFromStorage(_ context.Context, data []byte, _ value.Context) ([]byte, bool, error) {
	return data, false, nil
}
func (identity) TransformToStorage(_ context.Context, data []byte, _ value.Context) ([]byte, error) {
	return data, nil
}

func (s *store) getTransformer() value.Transformer { return *s.transformer.Load() }

// setTransformer swaps the transformer; the conformance tests use it to corrupt reads.
func (s *store) setTransformer(t value.Transformer) { s.transformer.Store(&t) }

// authenticatedData binds a stored value to its key, as etcd3 does, so an encrypted
// value cannot be replayed under another key.
type authenticatedData string

func (d authenticatedData) AuthenticatedData() []byte { return []byte(d) }

func (s *store) Versioner() storage.Versioner { return s.versioner }

func (s *store) prepareKey(key string, recursive bool) (string, error) {
	key, err := storage.PrepareKey(s.resourcePrefix, key, recursive)
	if err != nil {
		return "", err
	}
	full := s.pathPrefix + strings.TrimPrefix(key, "/")
	if len(full) > maxKeySize {
		return "", apierrors.NewBadRequest(fmt.Sprintf("storage key is %d bytes long; the most this store accepts is %d", len(full), maxKeySize))
	}
	return full, nil
}

// columns extracts the indexed column values of obj in table order.
func (s *store) columns(obj runtime.Object) ([]any, error) {
	if len(s.table.Columns) == 0 {
		return nil, nil
	}
	_, fields, err := s.getAttrs(obj)
	if err != nil {
		return nil, fmt.Errorf("reading the indexed fields: %w", err)
	}
	vals := make([]any, len(s.table.Columns))
	for i, c := range s.table.Columns {
		v := fields[c.Field]
		if len(v) > c.Size {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("field %s is %d bytes long; the most it may hold is %d", c.Field, len(v), c.Size))
		}
		vals[i] = []byte(v)
	}
	return vals, nil
}

func expiry(ttl uint64) sql.NullInt64 {
	if ttl == 0 {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: time.Now().Add(time.Duration(ttl) * time.Second).UnixMilli(), Valid: true}
}

// change is one write of a key: a create (prevRev 0), an update, or a delete.
type change struct {
	key     string
	prevRev int64
	// prev is the stored value at prevRev, which a watch's event carries; nil when the
	// writer does not know it.
	prev    []byte
	deleted bool
	value   []byte // stored, as the transformer wrote it; nil for a delete
	cols    []any
	exp     sql.NullInt64
}

// event is what watches are told of the change once it has revision rev, or nil when the
// previous value is unknown.
func (c *change) event(rev int64) *event {
	if c.prevRev != 0 && c.prev == nil {
		return nil
	}
	return &event{rev: rev, key: c.key, value: c.value, prevValue: c.prev, created: c.prevRev == 0, deleted: c.deleted}
}

// errConflict means the row was not at the expected revision.
var errConflict = errors.New("revision conflict")

const maxWriteAttempts = 8

// write commits one change: the change-log row first, which allocates the revision, then
// the resource row, conditional on the revision the caller read (prevRev 0: the key must
// not exist). On a conflict it fills its own revision so the tail need not wait for it,
// and returns errConflict.
func (s *store) write(ctx context.Context, c change) (int64, error) {
	for attempt := 1; ; attempt++ {
		rev, err := s.writeOnce(ctx, &c)
		if err == nil || errors.Is(err, errConflict) || attempt == maxWriteAttempts ||
			!(errors.Is(err, errRetry) || errors.Is(err, errDuplicate)) || ctx.Err() != nil {
			return rev, err
		}
		klog.V(4).InfoS("Retrying write", "key", c.key, "attempt", attempt, "err", err)
	}
}

func (s *store) writeOnce(ctx context.Context, c *change) (int64, error) {
	tx, err := s.b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("starting a write transaction: %w", translate(err))
	}
	defer func() { _ = tx.Rollback() }()
	create := c.prevRev == 0 && !c.deleted
	if create {
		// A create inserts its row before it takes a revision. Its condition is that the
		// key is absent, which no revision expresses: had it taken its revision first, a
		// delete of the previous incarnation could take a later revision, commit, and
		// let this insert through, leaving the log with the create before the delete
		// that preceded it. The insert waits for such a delete's row lock, so the
		// revision taken after it is greater than the delete's. The row holds revision
		// 0 until then, which no other transaction can see.
		args := append([]any{[]byte(c.key), int64(0), c.exp}, c.cols...)
		if _, err := s.b.d.exec(ctx, tx, s.stmts.insert, args...); err != nil {
			if errors.Is(err, errDuplicate) {
				return 0, errConflict
			}
			return 0, err
		}
	}
	res, err := s.b.d.exec(ctx, tx, stmtInsertLog, []byte(c.key), c.prevRev == 0, c.deleted, c.prevRev, c.value)
	if err != nil {
		// errDuplicate here: the tail filled the id we were handed before our row landed.
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	own := s.b.tail.handed(id)
	defer own.abandon()
	var affected int64
	switch {
	case c.deleted:
		res, err = s.b.d.exec(ctx, tx, s.stmts.delete, []byte(c.key), c.prevRev)
	case create:
		res, err = s.b.d.exec(ctx, tx, s.stmts.setRevision, id, []byte(c.key))
	default:
		args := append(append([]any{id, c.exp}, c.cols...), []byte(c.key), c.prevRev)
		res, err = s.b.d.exec(ctx, tx, s.stmts.update, args...)
	}
	if err == nil {
		if affected, err = res.RowsAffected(); err == nil && affected == 0 {
			err = errConflict
		}
	}
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errConflict) {
			own.abandon()
			s.b.tail.fillOwn(ctx, id)
		}
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		// The commit may have happened; the tail settles the revision either way.
		return 0, fmt.Errorf("committing revision %d: %w", id, translate(err))
	}
	own.committed(c.event(id))
	return id, nil
}

// Create implements storage.Interface.
func (s *store) Create(ctx context.Context, key string, obj, out runtime.Object, ttl uint64) error {
	key, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	if version, err := s.versioner.ObjectResourceVersion(obj); err == nil && version != 0 {
		return storage.ErrResourceVersionSetOnCreate
	}
	if err := s.versioner.PrepareObjectForStorage(obj); err != nil {
		return fmt.Errorf("PrepareObjectForStorage failed: %w", err)
	}
	data, err := runtime.Encode(s.codec, obj)
	if err != nil {
		return err
	}
	cols, err := s.columns(obj)
	if err != nil {
		return err
	}
	stored, err := s.getTransformer().TransformToStorage(ctx, data, authenticatedData(key))
	if err != nil {
		return storage.NewInternalError(err)
	}
	rev, err := s.create(ctx, change{key: key, value: stored, cols: cols, exp: expiry(ttl)})
	if errors.Is(err, errConflict) {
		return storage.NewKeyExistsError(key, 0)
	}
	if err != nil {
		return err
	}
	if out != nil {
		return s.decodeWritten(key, data, len(stored), out, rev)
	}
	return nil
}

// decodeWritten decodes what a write stored into out, and keeps it for the reads and the
// watch events of that version that follow.
func (s *store) decodeWritten(key string, data []byte, size int, out runtime.Object, rev int64) error {
	if err := s.decode(data, out, rev); err != nil {
		return err
	}
	s.b.decoded.add(key, rev, size, out)
	return nil
}

func (s *store) decode(data []byte, out runtime.Object, rev int64) error {
	if _, err := conversion.EnforcePtr(out); err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %w", err)
	}
	if _, _, err := s.codec.Decode(data, nil, out); err != nil {
		return err
	}
	if err := s.versioner.UpdateObject(out, uint64(rev)); err != nil {
		klog.ErrorS(err, "Setting the resource version of an object read from storage")
	}
	return nil
}

// objState is an object as read from the store, with its serialized form.
type objState struct {
	obj    runtime.Object
	meta   *storage.ResponseMeta
	rev    int64
	data   []byte
	stored []byte // data as stored; nil for a state built from a cached object
	stale  bool
}

// readRow returns the current revision and stored value of key; rev 0 means absent.
func (s *store) readRow(ctx context.Context, key string) (int64, []byte, error) {
	var (
		rev  int64
		data []byte
	)
	err := s.b.d.queryRow(ctx, nil, s.stmts.get, []any{[]byte(key)}, &rev, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return rev, data, err
}

// Get implements storage.Interface.
func (s *store) Get(ctx context.Context, key string, opts storage.GetOptions, out runtime.Object) error {
	key, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	rev, stored, err := s.readRow(ctx, key)
	if err != nil {
		return err
	}
	if err := s.validateMinimumResourceVersion(ctx, opts.ResourceVersion, rev); err != nil {
		return err
	}
	if rev == 0 {
		if opts.IgnoreNotFound {
			return runtime.SetZeroValue(out)
		}
		return storage.NewKeyNotFoundError(key, 0)
	}
	// Transformed even when kept decoded: an object the transformer can no longer read
	// (its key removed from the encryption configuration) must fail as it would uncached.
	data, _, err := s.getTransformer().TransformFromStorage(ctx, stored, authenticatedData(key))
	if err != nil {
		return storage.NewInternalError(err)
	}
	if s.b.decoded.into(key, rev, out) {
		return nil
	}
	if err := s.decode(data, out, rev); err != nil {
		return storage.NewCorruptObjError(key, err)
	}
	s.b.decoded.add(key, rev, len(stored), out)
	return nil
}

// validateMinimumResourceVersion fails with "too large resource version" when the caller
// asks for a revision newer than any the store has; known is a revision already seen.
func (s *store) validateMinimumResourceVersion(ctx context.Context, minimum string, known int64) error {
	if minimum == "" {
		return nil
	}
	minRV, err := s.versioner.ParseResourceVersion(minimum)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %v", err))
	}
	if minRV <= uint64(known) {
		return nil
	}
	var current int64
	if err := s.b.d.queryRow(ctx, nil, stmtMaxRevision, nil, &current); err != nil {
		return err
	}
	if minRV > uint64(current) {
		return storage.NewTooLargeResourceVersionError(minRV, uint64(current), 0)
	}
	return nil
}

func (s *store) getState(ctx context.Context, key string, v reflect.Value, ignoreNotFound, expectDecodeError bool) (*objState, error) {
	rev, stored, err := s.readRow(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.stateOf(ctx, key, rev, stored, v, ignoreNotFound, expectDecodeError)
}

// stateOf decodes a row. When expectDecodeError is set (unsafe deletion of a corrupt
// object) a readable object is an error, and an unreadable one comes back without obj.
func (s *store) stateOf(ctx context.Context, key string, rev int64, stored []byte, v reflect.Value, ignoreNotFound, expectDecodeError bool) (*objState, error) {
	st := &objState{meta: &storage.ResponseMeta{}}
	if u, ok := v.Addr().Interface().(runtime.Unstructured); ok {
		st.obj = u.NewEmptyInstance()
	} else {
		st.obj = reflect.New(v.Type()).Interface().(runtime.Object)
	}
	if rev == 0 {
		if !ignoreNotFound {
			return nil, storage.NewKeyNotFoundError(key, 0)
		}
		if err := runtime.SetZeroValue(st.obj); err != nil {
			return nil, err
		}
		return st, nil
	}
	st.rev, st.stored = rev, stored
	st.meta.ResourceVersion = uint64(rev)
	data, stale, err := s.getTransformer().TransformFromStorage(ctx, stored, authenticatedData(key))
	if err != nil {
		if !expectDecodeError {
			return nil, storage.NewInternalError(err)
		}
		st.obj, st.stale = nil, true
		return st, nil
	}
	st.data, st.stale = data, stale
	// An unsafe deletion must find out whether the object decodes now, so it decodes.
	if expectDecodeError || !s.b.decoded.into(key, rev, st.obj) {
		if err := s.decode(data, st.obj, rev); err != nil {
			if !expectDecodeError {
				return nil, err
			}
			st.obj = nil
			return st, nil
		}
		s.b.decoded.add(key, rev, len(stored), st.obj)
	}
	if expectDecodeError {
		return nil, storage.NewInvalidObjError(key, "unsafe deletion is not allowed because the object is decodable from storage")
	}
	return st, nil
}

// stateFromObject builds the state from a cached object the caller offers as a guess.
func (s *store) stateFromObject(obj runtime.Object) (*objState, error) {
	rv, err := s.versioner.ObjectResourceVersion(obj)
	if err != nil {
		return nil, fmt.Errorf("couldn't get resource version: %w", err)
	}
	st := &objState{obj: obj, rev: int64(rv), meta: &storage.ResponseMeta{ResourceVersion: rv}}
	// The stored form has no resource version: clear it to serialize, then put it back.
	if err := s.versioner.PrepareObjectForStorage(obj); err != nil {
		return nil, fmt.Errorf("PrepareObjectForStorage failed: %w", err)
	}
	if st.data, err = runtime.Encode(s.codec, obj); err != nil {
		return nil, err
	}
	if err := s.versioner.UpdateObject(st.obj, rv); err != nil {
		klog.ErrorS(err, "Restoring the resource version of a cached object")
	}
	return st, nil
}

// Delete implements storage.Interface.
func (s *store) Delete(ctx context.Context, key string, out runtime.Object, preconditions *storage.Preconditions,
	validateDeletion storage.ValidateObjectFunc, cachedExistingObject runtime.Object, opts storage.DeleteOptions) error {
	key, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(out)
	if err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %w", err)
	}
	expectDecodeError := opts.ExpectTransformOrDecodeError &&
		utilfeature.DefaultFeatureGate.Enabled(features.AllowUnsafeMalformedObjectDeletion)

	var st *objState
	current := false
	if cachedExistingObject != nil && !expectDecodeError {
		st, err = s.stateFromObject(cachedExistingObject)
	} else {
		st, err = s.getState(ctx, key, v, false, expectDecodeError)
		current = true
	}
	if err != nil {
		return err
	}
	for {
		if err := s.checkBeforeDelete(ctx, key, st, preconditions, validateDeletion); err != nil {
			if current {
				return err
			}
			// The guess may be stale: decide on the stored object.
			cachedRev := st.rev
			var readErr error
			if st, readErr = s.getState(ctx, key, v, false, expectDecodeError); readErr != nil {
				return readErr
			}
			current = true
			if st.rev == cachedRev {
				return err // the guess was current after all
			}
			continue
		}
		rev, err := s.write(ctx, change{key: key, prevRev: st.rev, prev: st.stored, deleted: true})
		if errors.Is(err, errConflict) {
			klog.V(4).InfoS("Delete conflicted, retrying", "key", key)
			if st, err = s.getState(ctx, key, v, false, expectDecodeError); err != nil {
				return err
			}
			current = true
			continue
		}
		if err != nil {
			return err
		}
		if expectDecodeError {
			return nil
		}
		return s.decode(st.data, out, rev)
	}
}

func (s *store) checkBeforeDelete(ctx context.Context, key string, st *objState, preconditions *storage.Preconditions, validateDeletion storage.ValidateObjectFunc) error {
	if preconditions != nil {
		if err := preconditions.Check(key, st.obj); err != nil {
			return err
		}
	}
	return validateDeletion(ctx, st.obj)
}

// GuaranteedUpdate implements storage.Interface.
func (s *store) GuaranteedUpdate(ctx context.Context, key string, destination runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	key, err := s.prepareKey(key, false)
	if err != nil {
		return err
	}
	v, err := conversion.EnforcePtr(destination)
	if err != nil {
		return fmt.Errorf("unable to convert output object to pointer: %w", err)
	}
	var st *objState
	current := false
	if cachedExistingObject != nil {
		st, err = s.stateFromObject(cachedExistingObject)
	} else {
		st, err = s.getState(ctx, key, v, ignoreNotFound, false)
		current = true
	}
	if err != nil {
		return err
	}
	refresh := func() error {
		st, err = s.getState(ctx, key, v, ignoreNotFound, false)
		current = true
		return err
	}
	for {
		if err := preconditions.Check(key, st.obj); err != nil {
			if current {
				return err
			}
			if err := refresh(); err != nil {
				return err
			}
			continue
		}
		ret, ttlPtr, err := tryUpdate(st.obj, *st.meta)
		if err != nil {
			if current {
				return err
			}
			cachedRev := st.rev
			if err := refresh(); err != nil {
				return err
			}
			if st.rev == cachedRev {
				return err
			}
			continue
		}
		if err := s.versioner.PrepareObjectForStorage(ret); err != nil {
			return fmt.Errorf("PrepareObjectForStorage failed: %w", err)
		}
		data, err := runtime.Encode(s.codec, ret)
		if err != nil {
			return err
		}
		if !st.stale && bytes.Equal(data, st.data) {
			// Nothing changes. A guess must be confirmed against the store first.
			if !current {
				if err := refresh(); err != nil {
					return err
				}
				if !bytes.Equal(data, st.data) {
					continue
				}
			}
			if !st.stale {
				return s.decode(st.data, destination, st.rev)
			}
		}
		cols, err := s.columns(ret)
		if err != nil {
			return err
		}
		stored, err := s.getTransformer().TransformToStorage(ctx, data, authenticatedData(key))
		if err != nil {
			return storage.NewInternalError(err)
		}
		var ttl uint64
		if ttlPtr != nil {
			ttl = *ttlPtr
		}
		rev, err := s.write(ctx, change{key: key, prevRev: st.rev, prev: st.stored, value: stored, cols: cols, exp: expiry(ttl)})
		if errors.Is(err, errConflict) {
			klog.V(4).InfoS("GuaranteedUpdate conflicted, retrying", "key", key)
			if err := refresh(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		return s.decodeWritten(key, data, len(stored), destination, rev)
	}
}

// Stats bounds: a range is counted exactly up to statsCounted keys, and the average
// object size is that of the first statsSampled.
const (
	statsCounted = 10_000
	statsSampled = 100
)

// Stats implements storage.Interface. The generic registry calls it every minute for
// apiserver_storage_objects (and priority and fairness estimates a list's cost from it),
// so it must not read the whole resource: counting 10M runs and summing their sizes took
// longer than 30 s and read every stored value. Up to statsCounted keys it counts exactly;
// past that, a resource with a table of its own reports InnoDB's estimate of the table's
// rows, and one in the shared table statsCounted, a floor. The size is averaged over a sample.
func (s *store) Stats(ctx context.Context) (storage.Stats, error) {
	prefix, err := s.prepareKey(s.resourcePrefix, true)
	if err != nil {
		return storage.Stats{}, err
	}
	lo, hi := []byte(prefix), []byte(prefixEnd(prefix))
	var count int64
	if err := s.b.d.queryRow(ctx, nil, s.stmts.count, []any{lo, hi, int64(math.MaxInt64), statsCounted + 1}, &count); err != nil {
		return storage.Stats{}, err
	}
	if count > statsCounted && s.table.Name != DefaultTable {
		var estimate sql.NullInt64
		if err := s.b.d.queryRow(ctx, nil, stmtTableRows, []any{s.table.Name}, &estimate); err != nil {
			return storage.Stats{}, err
		}
		count = max(count, estimate.Int64)
	}
	stats := storage.Stats{ObjectCount: count}
	if s.sizeEstimation.Load() && count > 0 {
		var n, size int64
		if err := s.b.d.queryRow(ctx, nil, s.stmts.statsSample, []any{lo, hi, statsSampled}, &n, &size); err != nil {
			return storage.Stats{}, err
		}
		if n > 0 {
			stats.EstimatedAverageObjectSizeBytes = size / n
		}
	}
	return stats, nil
}

// EnableResourceSizeEstimation implements storage.Interface. Sizes come from SQL, so
// the keys function is not needed.
func (s *store) EnableResourceSizeEstimation(getKeys storage.KeysFunc) error {
	if getKeys == nil {
		return errors.New("KeysFunc cannot be nil")
	}
	if !s.sizeEstimation.CompareAndSwap(false, true) {
		return errors.New("resource size estimation already enabled")
	}
	return nil
}

// ReadinessCheck implements storage.Interface.
func (s *store) ReadinessCheck() error { return s.b.ReadinessCheck() }

// GetCurrentResourceVersion implements storage.Interface.
func (s *store) GetCurrentResourceVersion(ctx context.Context) (uint64, error) {
	rev, err := s.b.CurrentRevision(ctx)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		return 0, errors.New("the current resource version must be greater than 0")
	}
	return uint64(rev), nil
}

// CompactRevision implements storage.Interface.
func (s *store) CompactRevision() int64 { return s.b.CompactRevision() }

// RequestWatchProgress implements storage.Interface: watches of this store that asked
// for progress notifications get one at the current revision.
func (s *store) RequestWatchProgress(ctx context.Context) error {
	s.b.tail.progress(func(sub *subscriber) bool { return sub.progressN && sub.owner == s })
	return nil
}

// prefixEnd is the smallest key greater than every key starting with prefix.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	// A prefix of only 0xff bytes has no end; no key of ours looks like that.
	return string(append([]byte(prefix), 0xff))
}

// newItemFunc builds list items, keeping the API version of unstructured lists.
func newItemFunc(listObj runtime.Object, v reflect.Value) func() runtime.Object {
	if ul, ok := listObj.(*unstructured.UnstructuredList); ok {
		if apiVersion := ul.GetAPIVersion(); apiVersion != "" {
			return func() runtime.Object {
				return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion}}
			}
		}
	}
	elem := v.Type().Elem()
	return func() runtime.Object { return reflect.New(elem).Interface().(runtime.Object) }
}
