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
)

// IndexedValues returns, in order, up to limit distinct non-empty values of the indexed
// field that sort after after. Each value is one seek in the field's index, for the
// smallest value past the last one (a loose index scan written out: the optimizer picks
// its own only when it guesses few values, and reads every entry otherwise), so a call
// costs in proportion to limit, not to the rows that hold each value. The registry's
// sweep walks owner UIDs this way to find dependents whose owner is gone.
func (s *store) IndexedValues(ctx context.Context, field, after string, limit int) ([]string, error) {
	c, ok := s.indexed[field]
	if !ok {
		return nil, fmt.Errorf("field %s of %s is not indexed", field, s.table.Name)
	}
	stmt := nextValueStatement(s.table, c)
	var values []string
	for len(values) < limit {
		var v []byte
		err := s.b.d.queryRow(ctx, nil, stmt, []any{[]byte(after)}, &v)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		after = string(v)
		values = append(values, after)
	}
	return values, nil
}

// IndexedValueSpan returns the first and last keys of this resource, relative to its
// prefix ("namespace/name"), whose indexed field holds value, or empty strings if none
// does. It is one statement that MariaDB answers with two seeks in the (column, key)
// index. The sweep asks it whether the dependents of an owner it knows all lie in the
// owner's namespace.
func (s *store) IndexedValueSpan(ctx context.Context, field, value string) (first, last string, err error) {
	c, ok := s.indexed[field]
	if !ok {
		return "", "", fmt.Errorf("field %s of %s is not indexed", field, s.table.Name)
	}
	prefix, err := s.prepareKey(s.resourcePrefix, true)
	if err != nil {
		return "", "", err
	}
	var lo, hi []byte
	if err := s.b.d.queryRow(ctx, nil, spanStatement(s.table, c), []any{[]byte(value), []byte(prefix), []byte(prefixEnd(prefix))},
		&lo, &hi); err != nil {
		return "", "", err
	}
	if len(lo) < len(prefix) || len(hi) < len(prefix) {
		return "", "", nil // no row: MIN and MAX are NULL
	}
	return string(lo[len(prefix):]), string(hi[len(prefix):]), nil
}

// IndexedRange returns up to limit keys of this resource, relative to its prefix
// ("namespace/name"), whose indexed field holds a value in [from, to), in the order of
// the field's (column, key) index. It reads that index alone, one range of it, so a call
// costs in proportion to limit, however many rows lie outside the range. What it returns
// is a hint read outside any snapshot: a caller acting on a key reads the object again.
// The leader's retention finds the runs due for archiving or deletion this way.
func (s *store) IndexedRange(ctx context.Context, field, from, to string, limit int) ([]string, error) {
	c, ok := s.indexed[field]
	if !ok {
		return nil, fmt.Errorf("field %s of %s is not indexed", field, s.table.Name)
	}
	if limit <= 0 || from >= to {
		return nil, nil
	}
	prefix, err := s.prepareKey(s.resourcePrefix, true)
	if err != nil {
		return nil, err
	}
	rows, err := s.b.d.query(ctx, nil, rangeStatement(s.table, c),
		[]byte(from), []byte(to), []byte(prefix), []byte(prefixEnd(prefix)), limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var keys []string
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, string(k[len(prefix):]))
	}
	return keys, rows.Err()
}

// IndexedRangeQuery is the SQL text IndexedRange runs on t for field, for EXPLAIN in
// tests and benchmarks. Its arguments: from, to, the prefix's first and past-last key,
// limit.
func IndexedRangeQuery(t Table, field string) (string, error) {
	c, err := indexedColumn(t, field)
	return rangeStatement(t, c).text, err
}

// OrderedListQuery is the SQL of a page of GetListInOrder by field, for EXPLAIN. Its
// arguments: the cursor's value, again, the cursor's key, the end of the values, the key
// range's first and past-last key, the revision and the limit.
func OrderedListQuery(t Table, field string) (string, error) {
	c, err := indexedColumn(t, field)
	return orderedListStatement(t, c).text, err
}

func indexedColumn(t Table, field string) (Column, error) {
	for _, c := range t.Columns {
		if c.Field == field {
			return c, nil
		}
	}
	return Column{}, fmt.Errorf("field %s of %s is not indexed", field, t.Name)
}
