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

package main

import "testing"

func TestParseCPUTimes(t *testing.T) {
	for _, tc := range []struct {
		line        string
		busy, total uint64
		bad         bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice: guest time is
		// in user's already, and iowait is busy.
		{line: "cpu  100 2 30 500 40 5 6 7 50 1", busy: 190, total: 690},
		{line: "cpu 1 0 1 8 0", busy: 2, total: 10},
		{line: "cpu0 1 0 1 8 0", bad: true},
		{line: "cpu 1 0 x 8 0", bad: true},
		{line: "cpu 1 2", bad: true},
	} {
		busy, total, err := parseCPUTimes(tc.line)
		if (err != nil) != tc.bad {
			t.Errorf("parseCPUTimes(%q): error %v, want an error: %t", tc.line, err, tc.bad)
			continue
		}
		if busy != tc.busy || total != tc.total {
			t.Errorf("parseCPUTimes(%q) = busy %d, total %d; want %d, %d", tc.line, busy, total, tc.busy, tc.total)
		}
	}
}
