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
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/features"
	"k8s.io/apiserver/pkg/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	"k8s.io/klog/v2"
)

// Watch implements storage.Interface.
func (s *store) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	key, err := s.prepareKey(key, opts.Recursive)
	if err != nil {
		return nil, err
	}
	rev, err := s.versioner.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.ProgressNotify && s.newFunc == nil {
		return nil, apierrors.NewInternalError(errors.New("progress notifications need the store's newFunc"))
	}
	start := int64(rev)
	sendInitial := initialEventsRequired(start, opts)
	if start == 0 && !sendInitial && utilfeature.DefaultFeatureGate.Enabled(features.WatchList) {
		// sendInitialEvents=false without a revision: start at the current one.
		current, err := s.b.CurrentRevision(ctx)
		if err != nil {
			return nil, err
		}
		start = current
	}
	w := &watcher{
		s:           s,
		key:         key,
		recursive:   opts.Recursive,
		pred:        opts.Predicate,
		start:       start,
		sendInitial: sendInitial,
		endBookmark: initialEventsEndBookmarkRequired(opts),
		page:        newPageSize(8, watchPageRows, s.b.watchPageBytes),
		result:      make(chan watch.Event, resultBuffer),
	}
	if w.pred.Empty() {
		w.pred = storage.Everything
	}
	w.sub = newSubscriber(key, opts.Recursive, s.b.cfg.WatchQueueBytes)
	w.sub.owner = s
	w.sub.progressN = opts.ProgressNotify
	w.sub.bookmarks = opts.ProgressNotify || opts.Predicate.AllowWatchBookmarks
	w.ctx, w.cancel = context.WithCancel(ctx)
	go w.run()
	utilflowcontrol.WatchInitialized(ctx)
	return w, nil
}

// initialEventsRequired says whether the watch starts with the current state.
func initialEventsRequired(rev int64, opts storage.ListOptions) bool {
	if opts.SendInitialEvents == nil && rev == 0 {
		return true // the legacy "resourceVersion=0" watch
	}
	return utilfeature.DefaultFeatureGate.Enabled(features.WatchList) &&
		opts.SendInitialEvents != nil && *opts.SendInitialEvents
}

func initialEventsEndBookmarkRequired(opts storage.ListOptions) bool {
	return utilfeature.DefaultFeatureGate.Enabled(features.WatchList) &&
		opts.SendInitialEvents != nil && *opts.SendInitialEvents && opts.Predicate.AllowWatchBookmarks
}

type watcher struct {
	s           *store
	key         string
	recursive   bool
	pred        storage.SelectionPredicate
	start       int64 // events after this revision are sent
	sendInitial bool
	endBookmark bool
	sub         *subscriber
	page        pageSize // of the next read of history or of the initial state
	ctx         context.Context
	cancel      context.CancelFunc
	result      chan watch.Event
	sent        []int64 // stored sizes of the last events sent to result, newest last
}

// The result channel holds decoded objects, so it is bounded in bytes as well as in
// events; what a client has not taken waits in the subscriber's queue, bounded in
// bytes, as stored values shared with every other watch.
const (
	// resultBuffer is the watch cache's: clients may count on the events already sent
	// when they stop a watch.
	resultBuffer = 10
	// resultBytes bounds the stored size of the events waiting in the result channel;
	// a larger event waits until the channel is empty.
	resultBytes = 1 << 20
)

func (w *watcher) Stop()                          { w.cancel() }
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

func (w *watcher) run() {
	defer close(w.result)
	defer w.cancel()
	tail := w.s.b.tail
	// Subscribe before reading anything, so that every later commit reaches the queue;
	// whatever the queue holds at or below what was read is skipped.
	pos := tail.subscribe(w.sub)
	defer tail.unsubscribe(w.sub)
	if err := w.catchUp(pos); err != nil {
		w.end(err)
		return
	}
	for {
		e, err := w.sub.next()
		if err != nil {
			w.end(err)
			return
		}
		if e != nil {
			if (e.progress || e.rev > w.start) && !w.deliver(e) {
				return
			}
			continue
		}
		select {
		case <-w.ctx.Done():
			return
		case <-w.sub.signal:
		}
	}
}

// end ends the watch for err.
func (w *watcher) end(err error) {
	if errors.Is(err, errTooSlow) || errors.Is(err, errBackendClosed) {
		// Closing without an error makes the client resume from its last revision,
		// as when the watch cache ends a watcher that does not keep up.
		klog.V(2).InfoS("Ending watch", "key", w.key, "reason", err)
		return
	}
	w.sendError(err)
}

// watchPageRows bounds the rows of one page of history or initial state; the Backend's
// watchPageBytes bounds their bytes.
const (
	watchPageRows  = 1000
	watchPageBytes = 1 << 20
)

// catchUp sends the initial state or the history between the requested revision and
// the point where the subscription began.
//
// Both are read in pages, each one short statement (or a few) outside any transaction
// and released before its events are sent, so a watch holds no connection while its
// client is slow. Pages need no snapshot: history up to the subscription point no longer
// changes, and a page of state at a fixed revision is read as a list at that revision
// is. Only compaction can take rows away, so each page is followed by a read of the
// compaction revision: once it has passed the revision being read, the watch ends with
// 410 Gone, as a list does.
func (w *watcher) catchUp(pos int64) error {
	if w.sendInitial {
		if w.start > 0 {
			current, err := w.s.b.CurrentRevision(w.ctx)
			if err != nil {
				return err
			}
			if w.start > current {
				return storage.NewTooLargeResourceVersionError(uint64(w.start), uint64(current), int(wait.Jitter(time.Second, 3).Seconds()))
			}
		}
		rev, err := w.sendState()
		if err != nil {
			return err
		}
		w.start = rev
		if w.endBookmark {
			if !w.deliver(&event{rev: rev, progress: true, initial: true}) {
				return nil
			}
		}
		return nil
	}
	lo, hi := w.rangeOf()
	for from := w.start; ; {
		var (
			evs  []*event
			more bool
			err  error
		)
		// Rows above the compaction revision are never deleted, nor the previous values
		// they name; as with lists, a watch from below it is 410 Gone (etcd would also
		// lack the previous value of the first event after it).
		err = w.readPage(from, func() error {
			if from < pos {
				evs, more, err = w.s.b.readLogPage(w.ctx, from, pos, lo, hi, &w.page)
			}
			return err
		})
		if err != nil {
			return err
		}
		for i, e := range evs {
			evs[i] = nil // sent events need not stay in memory while the rest are sent
			if !w.deliver(e) {
				return context.Canceled
			}
			from = e.rev
		}
		if !more {
			break
		}
	}
	w.start = max(w.start, pos)
	return nil
}

// readPage runs read, which reads one page, once fewer than half the pool's connections
// are reading pages for watches, and then fails with errCompacted if history at rev
// may have been compacted meanwhile.
func (w *watcher) readPage(rev int64, read func() error) error {
	select {
	case w.s.b.watchPages <- struct{}{}:
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
	defer func() { <-w.s.b.watchPages }()
	if err := read(); err != nil {
		return err
	}
	compact, err := w.s.b.compactRevision(w.ctx, nil)
	if err != nil {
		return err
	}
	if rev < compact {
		return errCompacted
	}
	return nil
}

func (w *watcher) rangeOf() (lo, hi string) {
	if !w.recursive {
		return w.key, w.key + "\x00"
	}
	return w.key, prefixEnd(w.key)
}

// sendState sends the current state as ADDED events and returns its revision.
func (w *watcher) sendState() (int64, error) {
	rev, err := w.s.b.CurrentRevision(w.ctx)
	if err != nil {
		return 0, err
	}
	lo, hi := w.rangeOf()
	for cursor := lo; cursor != ""; {
		var items []kv
		err = w.readPage(rev, func() error {
			items, cursor, err = w.s.statePage(w.ctx, cursor, hi, rev, w.pred, &w.page)
			return err
		})
		if err != nil {
			return 0, err
		}
		for i, item := range items {
			items[i] = kv{}
			e := &event{rev: item.rev, key: item.key, value: item.value, created: true, initial: true}
			if !w.deliver(e) {
				return 0, context.Canceled
			}
		}
	}
	return rev, nil
}

// deliver turns an event into a watch event for this watcher and sends it. It reports
// false when the watch has ended.
func (w *watcher) deliver(e *event) bool {
	size := e.size()
	// Room first, then decode: a watch whose client does not read holds its next
	// event as stored bytes, not decoded.
	if !w.waitForRoom(size) {
		return false
	}
	if err := w.sub.failed(); err != nil {
		// Fell too far behind meanwhile (while catching up, say): no use going on.
		klog.V(2).InfoS("Ending watch", "key", w.key, "reason", err)
		return false
	}
	res, err := w.transform(e)
	if err != nil {
		w.sendError(err)
		return false
	}
	if res == nil {
		return true
	}
	select {
	case w.result <- *res:
		if len(w.sent) == resultBuffer {
			w.sent = append(w.sent[:0], w.sent[1:]...)
		}
		w.sent = append(w.sent, size)
		return true
	case <-w.ctx.Done():
		return false
	}
}

// waitForRoom returns once the events in the result channel, which its reader has not
// taken, leave room for one of the stored size given within resultBytes, or false when
// the watch ends. A channel cannot say when it is read, so a watch waiting for room
// looks again after a growing delay; only a client that has left a megabyte unread
// makes it wait.
func (w *watcher) waitForRoom(size int64) bool {
	var timer *time.Timer
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		unread := len(w.result)
		var bytes int64
		for _, n := range w.sent[max(len(w.sent)-unread, 0):] {
			bytes += n
		}
		if unread == 0 || bytes+size <= resultBytes {
			return true
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-timer.C:
		case <-w.ctx.Done():
			return false
		}
	}
}

func (w *watcher) transform(e *event) (*watch.Event, error) {
	if e.progress {
		if e.rev < w.start && !e.initial {
			return nil, nil // a bookmark must not go back before where the watch began
		}
		if w.s.newFunc == nil {
			return nil, nil
		}
		obj := w.s.newFunc()
		if err := w.s.versioner.UpdateObject(obj, uint64(e.rev)); err != nil {
			return nil, fmt.Errorf("setting the bookmark's resource version: %w", err)
		}
		if e.initial {
			if err := storage.AnnotateInitialEventsEndBookmark(obj); err != nil {
				return nil, err
			}
		}
		return &watch.Event{Type: watch.Bookmark, Object: obj}, nil
	}
	var cur, old runtime.Object
	var err error
	if !e.deleted {
		if cur, err = w.decodeCurrent(e.key, e.value, e.rev); err != nil {
			if errors.As(err, new(*undecodable)) {
				skipCorrupt(e.key, err) // see corrupt.go
				return nil, nil
			}
			return nil, err
		}
	}
	// The previous object matters for a delete, and to tell whether a change moved the
	// object into or out of the selection.
	if len(e.prevValue) > 0 && (e.deleted || !w.pred.Empty()) {
		old, err = w.decode(e.key, e.prevValue, e.rev)
		switch {
		case errors.As(err, new(*undecodable)):
			// Lists and watches left the previous value out, so no watcher holds it:
			// a deletion has nothing to remove, a change is an addition.
			skipCorrupt(e.key, err)
			old = nil
		case err != nil && e.deleted:
			// An unreadable object was deleted (unsafe deletion of corrupt data).
			return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
				Status:  metav1.StatusFailure,
				Code:    http.StatusInternalServerError,
				Reason:  metav1.StatusReasonStoreReadError,
				Message: fmt.Sprintf("saw a DELETED event, but object data is corrupt - %v", err),
			}}
		case err != nil:
			return nil, err
		}
	}
	switch {
	case e.deleted:
		if old == nil || !w.matches(old) {
			return nil, nil
		}
		return &watch.Event{Type: watch.Deleted, Object: old}, nil
	case e.created:
		if !w.matches(cur) {
			return nil, nil
		}
		return &watch.Event{Type: watch.Added, Object: cur}, nil
	}
	if w.pred.Empty() {
		return &watch.Event{Type: watch.Modified, Object: cur}, nil
	}
	curIn, oldIn := w.matches(cur), old != nil && w.matches(old)
	switch {
	case curIn && oldIn:
		return &watch.Event{Type: watch.Modified, Object: cur}, nil
	case curIn:
		return &watch.Event{Type: watch.Added, Object: cur}, nil
	case oldIn:
		return &watch.Event{Type: watch.Deleted, Object: old}, nil
	}
	return nil, nil
}

func (w *watcher) matches(obj runtime.Object) bool {
	if w.pred.Empty() {
		return true
	}
	ok, err := w.pred.Matches(obj)
	return err == nil && ok
}

// decodeCurrent decodes key's object at rev, the version stored then. Every watcher of the
// resource (and reads of that version) share one decode through the backend's decoded objects.
func (w *watcher) decodeCurrent(key string, stored []byte, rev int64) (runtime.Object, error) {
	data, err := w.fromStorage(key, stored)
	if err != nil {
		return nil, err
	}
	if obj := w.s.b.decoded.object(key, rev, w.s.objType); obj != nil {
		return obj, nil
	}
	obj, err := w.decodeData(key, data, rev)
	if err == nil {
		w.s.b.decoded.add(key, rev, len(stored), obj)
	}
	return obj, err
}

// decode decodes stored, a version of key, with rev as its resource version (for a
// previous version, the revision of the change that replaced it).
func (w *watcher) decode(key string, stored []byte, rev int64) (runtime.Object, error) {
	data, err := w.fromStorage(key, stored)
	if err != nil {
		return nil, err
	}
	return w.decodeData(key, data, rev)
}

func (w *watcher) fromStorage(key string, stored []byte) ([]byte, error) {
	data, _, err := w.s.getTransformer().TransformFromStorage(w.ctx, stored, authenticatedData(key))
	return data, err
}

func (w *watcher) decodeData(key string, data []byte, rev int64) (runtime.Object, error) {
	obj, err := runtime.Decode(w.s.codec, data)
	if err != nil {
		return nil, &undecodable{err}
	}
	if err := w.s.versioner.UpdateObject(obj, uint64(rev)); err != nil {
		return nil, fmt.Errorf("setting the resource version of %q: %w", key, err)
	}
	return obj, nil
}

// sendError sends err as the watch's last event.
func (w *watcher) sendError(err error) {
	if errors.Is(err, context.Canceled) || w.ctx.Err() != nil {
		return
	}
	if errors.Is(err, errCompacted) {
		err = apierrors.NewResourceExpired("The resourceVersion for the provided watch is too old.")
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	select {
	case w.result <- watch.Event{Type: watch.Error, Object: &st}:
	case <-w.ctx.Done():
	}
}
