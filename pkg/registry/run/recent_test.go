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

package run

import (
	"testing"
	"time"
)

// TestNewestFirst: the column values sort newer runs first, byte by byte, at any time a
// creation timestamp can hold, and fit their columns.
func TestNewestFirst(t *testing.T) {
	times := []time.Time{
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 30, 12, 0, 1, 0, time.UTC),
		time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		{}, // a run stored without a creation timestamp
	}
	sizes := map[string]int{}
	for _, c := range Table.Columns {
		sizes[c.Field] = c.Size
	}
	ns, exp := "a-namespace-name-of-sixty-three-characters-xxxxxxxxxxxxxxxxxxxx", string(make([]byte, 253))
	var prevNS, prevExp string
	for i, ts := range times {
		inNS, inExp := NewestFirst(ns, exp, ts)
		if len(inNS) != len(ns)+1+newestSize || len(inNS) > sizes[NewestInNamespaceField] || len(inExp) > sizes[NewestInExperimentField] {
			t.Errorf("%v: values of %d and %d bytes, columns of %d and %d", ts, len(inNS), len(inExp),
				sizes[NewestInNamespaceField], sizes[NewestInExperimentField])
		}
		if i > 0 && (inNS <= prevNS || inExp <= prevExp) {
			t.Errorf("%v sorts before the newer %v: %q <= %q", ts, times[i-1], inNS, prevNS)
		}
		prevNS, prevExp = inNS, inExp
	}
}
