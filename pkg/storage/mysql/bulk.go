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
	"fmt"
	"strings"
)

// BulkObject is one new object for BulkLoad.
type BulkObject struct {
	// Key is the full storage key, prefix included:
	// /registry/<group>/<resource>/<namespace>/<name>.
	Key string
	// Value is the object as the resource's storage codec encodes it, resourceVersion empty.
	Value []byte
	// Columns are the values of the table's indexed columns, in the order of Table.Columns.
	Columns [][]byte
}

// bulkBatch bounds one multi-row INSERT: a few hundred rows keep a statement well under
// max_allowed_packet and its placeholders under the protocol's 65,535.
const bulkBatch = 500

// BulkLoad writes objects that do not exist yet straight into t and the change log,
// exactly as Create leaves them (a change-log row with created = 1 holding the value, and
// the resource row pointing at it), in multi-row INSERTs inside one transaction, and
// returns the revision of the last one. It is for loading large data sets, such as the
// benchmarks' millions of runs, where a request per object would take hours.
//
// Revisions continue from the newest one, taken under a lock on the end of the change
// log, so a running Backend's tail delivers them as ADDED events once the transaction
// commits and every later list and watch sees them. The table must exist (NewStore
// creates it). Nothing else should write meanwhile: a concurrent writer waits for the
// lock, and one that was handed an id before it may have to retry.
func BulkLoad(ctx context.Context, db *sql.DB, t Table, objs []BulkObject) (int64, error) {
	// The table's names are spliced into SQL text: the same check as a Backend's tables.
	if errs := validateTables([]Table{t}); len(errs) > 0 {
		return 0, fmt.Errorf("invalid table: %w", errs.ToAggregate())
	}
	for _, o := range objs {
		if len(o.Columns) != len(t.Columns) {
			return 0, fmt.Errorf("object %s has %d column values; table %s has %d columns", o.Key, len(o.Columns), t.Name, len(t.Columns))
		}
		if len(o.Key) > maxKeySize || !strings.HasPrefix(o.Key, "/") {
			return 0, fmt.Errorf("key %q must start with / and be at most %d bytes", o.Key, maxKeySize)
		}
		for i, c := range t.Columns {
			if len(o.Columns[i]) > c.Size {
				return 0, fmt.Errorf("object %s: field %s is %d bytes long; the most it may hold is %d", o.Key, c.Field, len(o.Columns[i]), c.Size)
			}
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("starting the bulk load: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var rev int64
	// FOR UPDATE locks the end of the primary key, so no other insert lands between the
	// ids read here and the ones this transaction writes.
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM "+logTable+" FOR UPDATE").Scan(&rev); err != nil {
		return 0, fmt.Errorf("reading the newest revision: %w", err)
	}
	cols := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	// Tuples repeated in place, not through a helper, so that TestSQLTextFromConstantsAndConfigOnly
	// can follow every part of the text to a constant.
	const logTuple = "(?, ?, 1, 0, 0, ?), "
	rowTuple := "(" + placeholders(2+len(cols)) + "), "
	rowPrefix := "INSERT INTO " + t.Name + " (" + strings.Join(append([]string{"k", "revision"}, cols...), ", ") + ") VALUES "
	logPrefix := "INSERT INTO " + logTable + " (id, k, created, deleted, prev_revision, value) VALUES "
	for start := 0; start < len(objs); start += bulkBatch {
		batch := objs[start:min(start+bulkBatch, len(objs))]
		logArgs := make([]any, 0, 3*len(batch))
		rowArgs := make([]any, 0, (2+len(cols))*len(batch))
		for _, o := range batch {
			rev++
			logArgs = append(logArgs, rev, []byte(o.Key), o.Value)
			rowArgs = append(rowArgs, []byte(o.Key), rev)
			for _, v := range o.Columns {
				rowArgs = append(rowArgs, v)
			}
		}
		if _, err := tx.ExecContext(ctx, logPrefix+strings.TrimSuffix(strings.Repeat(logTuple, len(batch)), ", "), logArgs...); err != nil {
			return 0, fmt.Errorf("inserting into the change log: %w", translate(err))
		}
		if _, err := tx.ExecContext(ctx, rowPrefix+strings.TrimSuffix(strings.Repeat(rowTuple, len(batch)), ", "), rowArgs...); err != nil {
			return 0, fmt.Errorf("inserting into %s: %w", t.Name, translate(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing the bulk load: %w", translate(err))
	}
	return rev, nil
}
