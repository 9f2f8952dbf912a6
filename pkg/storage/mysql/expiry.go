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
	"time"

	"k8s.io/klog/v2"
)

// sweepExpired deletes keys whose TTL has passed, through the normal delete path so
// that watchers see a DELETED event. Replicas may race; the conditional delete makes
// the loser a no-op.
func (s *store) sweepExpired(ctx context.Context) {
	ticker := time.NewTicker(s.b.cfg.TTLSweepInterval)
	defer ticker.Stop()
	prefix := s.pathPrefix + s.resourcePrefix[1:]
	lo, hi := prefix, prefixEnd(prefix)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := s.deleteExpired(ctx, lo, hi); err != nil && ctx.Err() == nil {
			klog.V(2).InfoS("Deleting expired keys failed", "resource", s.resourcePrefix, "err", err)
		}
	}
}

func (s *store) deleteExpired(ctx context.Context, lo, hi string) error {
	rows, err := s.b.d.query(ctx, nil, s.stmts.expired, time.Now().UnixMilli(), []byte(lo), []byte(hi))
	if err != nil {
		return err
	}
	type row struct {
		key string
		rev int64
	}
	var expired []row
	for rows.Next() {
		var (
			k   []byte
			rev int64
		)
		if err := rows.Scan(&k, &rev); err != nil {
			rows.Close()
			return err
		}
		expired = append(expired, row{string(k), rev})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, r := range expired {
		if _, err := s.write(ctx, change{key: r.key, prevRev: r.rev, deleted: true}); err != nil && !errors.Is(err, errConflict) {
			return err
		}
	}
	return nil
}

// backfill fills the table's columns from the stored objects, every row, then clears the
// table's backfill marker. Rows changed meanwhile were written by writers that fill the
// columns themselves.
func (s *store) backfill(ctx context.Context) error {
	sets := ""
	for i, c := range s.table.Columns {
		if i > 0 {
			sets += ", "
		}
		sets += c.Name + " = ?"
	}
	update := statement{s.table.Name + "_backfill", "UPDATE " + s.table.Name + " SET " + sets + " WHERE k = ? AND revision = ?"}
	it := &rangeIterator{s: s, hi: "\xff", rev: 1<<62 - 1, cursor: "", batch: 500}
	n := 0
	for {
		item, ok, err := it.next(ctx)
		if err != nil {
			return fmt.Errorf("backfilling %s: %w", s.table.Name, err)
		}
		if !ok {
			break
		}
		data, _, err := s.getTransformer().TransformFromStorage(ctx, item.value, authenticatedData(item.key))
		if err != nil {
			return fmt.Errorf("backfilling %s: reading %q: %w", s.table.Name, item.key, err)
		}
		obj := s.newFunc()
		if _, _, err := s.codec.Decode(data, nil, obj); err != nil {
			return fmt.Errorf("backfilling %s: decoding %q: %w", s.table.Name, item.key, err)
		}
		cols, err := s.columns(obj)
		if err != nil {
			return err
		}
		// A row changed meanwhile was written by a writer that already fills the columns.
		if _, err := s.b.d.exec(ctx, nil, update, append(cols, []byte(item.key), item.rev)...); err != nil {
			return err
		}
		n++
		if n%100_000 == 0 {
			klog.InfoS("Backfilling indexed columns", "table", s.table.Name, "rows", n)
		}
		if backfillInterrupt != nil {
			if err := backfillInterrupt(n); err != nil {
				return err
			}
		}
	}
	if _, err := s.b.db.ExecContext(ctx, "DELETE FROM "+metaTable+" WHERE name = ?", backfillMarker(s.table.Name)); err != nil {
		return fmt.Errorf("backfilling %s: clearing its marker: %w", s.table.Name, err)
	}
	klog.InfoS("Backfilled indexed columns", "table", s.table.Name, "rows", n)
	return nil
}

// backfillInterrupt, when set (by tests), is called after each row backfilled and ends the
// backfill with its error.
var backfillInterrupt func(rows int) error
