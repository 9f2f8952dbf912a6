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
)

// IndexedValues returns, in order, up to limit distinct non-empty values of the indexed
// field that sort after after. They are read from the field's index alone, skipping from
// one value to the next, so a call costs in proportion to limit, not to the rows that
// hold each value: the registry's sweep walks owner UIDs this way to find dependents
// whose owner is gone.
func (s *store) IndexedValues(ctx context.Context, field, after string, limit int) ([]string, error) {
	c, ok := s.indexed[field]
	if !ok {
		return nil, fmt.Errorf("field %s of %s is not indexed", field, s.table.Name)
	}
	stmt := statement{s.table.Name + "_values_" + c.Name,
		"SELECT DISTINCT " + c.Name + " FROM " + s.table.Name + " WHERE " + c.Name + " > ? ORDER BY " + c.Name + " LIMIT ?"}
	rows, err := s.b.d.query(ctx, nil, stmt, []byte(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, string(v))
	}
	return values, rows.Err()
}
