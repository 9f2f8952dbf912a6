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

package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestSweepSpacedByItsCost: sweeps run SweepInterval apart, unless a sweep takes more than
// a hundredth of that; then the next waits a hundred times as long as it took, but never more
// than ten intervals.
func TestSweepSpacedByItsCost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		interval    time.Duration
		takes       time.Duration
		during      time.Duration
		least, most int32
	}{
		// Each sweep of 5 ms makes the next wait 500 ms: one in 300 ms, where the interval
		// alone would allow about five.
		{"a sweep that costs more than a hundredth of the interval", 50 * time.Millisecond, 5 * time.Millisecond, 300 * time.Millisecond, 1, 1},
		// 500 ms is more than ten intervals of 10 ms: the wait is 100 ms, three in 300 ms.
		{"a sweep that would wait more than ten intervals", 10 * time.Millisecond, 5 * time.Millisecond, 300 * time.Millisecond, 2, 4},
		{"cheap sweeps", 50 * time.Millisecond, 0, 175 * time.Millisecond, 2, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			c := &Controllers{cfg: Config{SweepInterval: tc.interval, Sweep: func(context.Context) error {
				calls.Add(1)
				time.Sleep(tc.takes)
				return nil
			}}}
			ctx, cancel := context.WithTimeout(context.Background(), tc.during)
			defer cancel()
			c.sweepLoop(ctx)
			if n := calls.Load(); n < tc.least || n > tc.most {
				t.Errorf("%d sweeps in %v, want %d to %d", n, tc.during, tc.least, tc.most)
			}
		})
	}
}
