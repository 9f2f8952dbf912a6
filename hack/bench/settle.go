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
	"fmt"
	"time"

	"github.com/prometheus/procfs"
	"k8s.io/klog/v2"
)

// atRest is a wait until the machine is at rest: under restBusy of its CPU time busy (waiting
// for the disk counted as busy) for quiet intervals in a row, at most max. What is still busy
// after max is part of the measurement.
type atRest struct {
	interval time.Duration
	quiet    int
	max      time.Duration
}

// restBusy is the share of the machine's CPU time below which it is taken to be at rest.
const restBusy = 0.15

var (
	// afterLoad follows a load, which leaves work behind it (dirty pages, garbage
	// collection): whatever target is measured while it runs would pay for it.
	afterLoad = atRest{interval: time.Second, quiet: 3, max: 3 * time.Minute}
	// betweenTurns precedes each target's turn in a workload: the turn before it leaves work
	// behind too (after a turn of the CRD's filtered pages, its kube-apiserver kept 1.1 cores
	// busy for a quarter of a second), and on two cores the next target pays for it.
	betweenTurns = atRest{interval: 100 * time.Millisecond, quiet: 3, max: 5 * time.Second}
)

// settle waits as afterLoad says and logs the wait. It returns how long it waited and
// whether the machine came to rest.
func settle(ctx context.Context, what string) (time.Duration, bool, error) {
	waited, settled, busy, err := afterLoad.wait(ctx)
	if err == nil {
		waited = waited.Round(time.Second)
		klog.InfoS("Waited for the machine to settle", "after", what, "waited", waited, "busy", fmt.Sprintf("%.0f%%", 100*busy), "settled", settled)
	}
	return waited, settled, err
}

// wait returns how long it waited, whether the machine came to rest, and the busy share of
// the last interval.
func (r atRest) wait(ctx context.Context) (time.Duration, bool, float64, error) {
	begin := time.Now()
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, false, 0, err
	}
	prevBusy, prevTotal, err := cpuTimes(fs)
	if err != nil {
		return 0, false, 0, err
	}
	quiet, last := 0, 0.0
	for quiet < r.quiet && time.Since(begin) < r.max {
		select {
		case <-ctx.Done():
			return time.Since(begin), false, last, ctx.Err()
		case <-time.After(r.interval):
		}
		busy, total, err := cpuTimes(fs)
		if err != nil {
			return time.Since(begin), false, last, err
		}
		if total > prevTotal {
			last = (busy - prevBusy) / (total - prevTotal)
		}
		prevBusy, prevTotal = busy, total
		if last < restBusy {
			quiet++
		} else {
			quiet = 0
		}
	}
	return time.Since(begin), quiet >= r.quiet, last, nil
}

// cpuTimes is the machine's busy and total CPU time in seconds. Only idle time is at rest:
// time waiting for the disk counts as busy. Guest time is already in user and nice.
func cpuTimes(fs procfs.FS) (busy, total float64, err error) {
	st, err := fs.Stat()
	if err != nil {
		return 0, 0, err
	}
	c := st.CPUTotal
	busy = c.User + c.Nice + c.System + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
	return busy, busy + c.Idle, nil
}
