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
	"os"
	"strconv"
	"strings"
	"time"

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

// settle waits, after a load, until the machine is at rest: a load leaves work behind it
// (MariaDB flushing the pages it dirtied, kube-apiserver collecting the garbage of a
// filled watch cache, etcd's snapshot), and whatever target is measured while it runs
// pays for it. It returns how long it waited.
func settle(ctx context.Context, what string) (time.Duration, error) {
	begin := time.Now()
	prevBusy, prevTotal, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	quiet, last := 0, 0.0
	for quiet < settleQuiet && time.Since(begin) < settleMax {
		select {
		case <-ctx.Done():
			return time.Since(begin), ctx.Err()
		case <-time.After(time.Second):
		}
		busy, total, err := cpuTimes()
		if err != nil {
			return time.Since(begin), err
		}
		if total > prevTotal {
			last = float64(busy-prevBusy) / float64(total-prevTotal)
		}
		prevBusy, prevTotal = busy, total
		if last < settleBusy {
			quiet++
		} else {
			quiet = 0
		}
	}
	waited := time.Since(begin).Round(time.Second)
	klog.InfoS("Waited for the machine to settle", "after", what, "waited", waited, "busy", fmt.Sprintf("%.0f%%", 100*last), "settled", quiet >= settleQuiet)
	return waited, nil
}

// cpuTimes reads the machine's busy and total CPU time from /proc/stat, in clock ticks.
func cpuTimes() (busy, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return parseCPUTimes(line)
}

// parseCPUTimes reads /proc/stat's first line: user nice system idle iowait irq softirq
// steal, then guest times, which user and nice already hold. Only idle is at rest: iowait
// counts as busy.
func parseCPUTimes(line string) (busy, total uint64, err error) {
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
		}
		total += v
		if i != 3 {
			busy += v
		}
	}
	return busy, total, nil
}
