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

const (
	// settleBusy is the share of the machine's CPU time (waiting for the disk counted as
	// busy) below which it is taken to be at rest.
	settleBusy = 0.15
	// settleQuiet is how many consecutive seconds it must stay below settleBusy.
	settleQuiet = 3
	// settleMax bounds the wait: what is still busy after it is part of the measurement.
	settleMax = 3 * time.Minute
)

// settle waits, after a load, until the machine is at rest: a load leaves work behind it,
// and whatever target is measured while it runs pays for it. It returns how long it waited
// and whether the machine came to rest within settleMax.
func settle(ctx context.Context, what string) (time.Duration, bool, error) {
	begin := time.Now()
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, false, err
	}
	prevBusy, prevTotal, err := cpuTimes(fs)
	if err != nil {
		return 0, false, err
	}
	quiet, last := 0, 0.0
	for quiet < settleQuiet && time.Since(begin) < settleMax {
		select {
		case <-ctx.Done():
			return time.Since(begin), false, ctx.Err()
		case <-time.After(time.Second):
		}
		busy, total, err := cpuTimes(fs)
		if err != nil {
			return time.Since(begin), false, err
		}
		if total > prevTotal {
			last = (busy - prevBusy) / (total - prevTotal)
		}
		prevBusy, prevTotal = busy, total
		if last < settleBusy {
			quiet++
		} else {
			quiet = 0
		}
	}
	waited, settled := time.Since(begin).Round(time.Second), quiet >= settleQuiet
	klog.InfoS("Waited for the machine to settle", "after", what, "waited", waited, "busy", fmt.Sprintf("%.0f%%", 100*last), "settled", settled)
	return waited, settled, nil
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
