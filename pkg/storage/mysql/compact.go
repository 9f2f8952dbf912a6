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
	"fmt"
	"time"

	"k8s.io/klog/v2"
)

const compactBatch = 1000

// Compact discards history before rev: reads and watches from older revisions then
// answer 410 Gone. What each key held at rev and later stays readable. Every replica
// may compact; the work is idempotent.
//
// The compaction revision is published first and rows are deleted after, so a reader
// either sees the old revision and all of its rows (its snapshot predates the deletes)
// or sees the new revision and refuses to read below it.
func (b *Backend) Compact(ctx context.Context, rev int64) error {
	if rev > b.tail.resolvedRevision() {
		return fmt.Errorf("cannot compact at %d: the newest settled revision is %d", rev, b.tail.resolvedRevision())
	}
	start := time.Now()
	if _, err := b.d.exec(ctx, nil, stmtSetCompact, rev); err != nil {
		return err
	}
	b.observeCompaction(rev)
	// Like etcd's compaction, which records itself with a write, a compaction is a
	// revision of its own; watchers and lists see the store move past it.
	if _, err := b.d.exec(ctx, nil, stmtInsertLog, []byte{}, false, false, 0, nil); err != nil {
		return err
	}
	b.tail.poke()
	var through int64
	if err := b.d.queryRow(ctx, nil, stmtGetMeta, []any{"compacted_through"}, &through); err != nil {
		return err
	}
	// A row is dropped when a newer row of its key, itself older than rev, supersedes it;
	// so is a tombstone or filler older than rev. Both walk the newer rows in batches.
	for lo := through; lo < rev; lo += compactBatch {
		hi := min(lo+compactBatch, rev)
		if _, err := b.d.exec(ctx, nil, stmtCompactSuperseded, lo, hi); err != nil {
			return err
		}
		if _, err := b.d.exec(ctx, nil, stmtCompactTombstones, lo, hi); err != nil {
			return err
		}
		if _, err := b.d.exec(ctx, nil, stmtSetMeta, "compacted_through", hi); err != nil {
			return err
		}
	}
	compactionDuration.Observe(time.Since(start).Seconds())
	klog.V(2).InfoS("Compacted history", "revision", rev, "duration", time.Since(start))
	return nil
}

// compactLoop keeps one to two intervals of history: each tick compacts to the revision
// that was current at the previous tick, as kube-apiserver does with etcd.
func (b *Backend) compactLoop(ctx context.Context) {
	ticker := time.NewTicker(b.cfg.CompactionInterval)
	defer ticker.Stop()
	var previous int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if previous > 0 {
			if err := b.Compact(ctx, previous); err != nil {
				klog.ErrorS(err, "Compacting history", "revision", previous)
			}
		}
		previous = b.tail.resolvedRevision()
	}
}
