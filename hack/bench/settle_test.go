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

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRestIsBounded: on a machine kept busy, the wait for rest gives up at its max and says
// the machine was still busy.
func TestRestIsBounded(t *testing.T) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for !stop.Load() {
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	r := atRest{interval: 20 * time.Millisecond, quiet: 2, max: 200 * time.Millisecond}
	waited, settled, busy, err := r.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if settled || busy < restBusy {
		t.Errorf("settled %t with %.0f%% busy, want still busy", settled, 100*busy)
	}
	if waited < r.max || waited > r.max+time.Second {
		t.Errorf("waited %s, want about %s", waited, r.max)
	}
}
