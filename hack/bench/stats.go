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
	"math"
	"slices"
	"time"
)

// Targets, in the order the table shows them.
const (
	targetServer = "this server"
	targetCRD    = "CRD"
	// targetCRDNoFsync is the CRD on an etcd that does not sync its commits to disk
	// (--unsafe-no-fsync), beside the CRUD workloads only, for reference.
	targetCRDNoFsync = "CRD, etcd without fsync"
	targetRaw        = "raw SQL"
)

// result is one workload measured on one target: every operation's latency and the
// time the operations took together (the sum over rounds, so the other targets' turns
// between rounds do not count).
type result struct {
	Workload string
	// Stored is the number of loaded runs at the time; 0 for the CRUD workloads, which
	// run before any load.
	Stored  int
	Target  string
	Samples []time.Duration
	Wall    time.Duration
}

// summary is what the table shows of a result.
type summary struct {
	Ops        int
	Throughput float64 // operations per second
	P50, P99   time.Duration
}

func (r *result) summary() summary {
	s := summary{Ops: len(r.Samples), P50: percentile(r.Samples, 50), P99: percentile(r.Samples, 99)}
	if r.Wall > 0 {
		s.Throughput = float64(len(r.Samples)) / r.Wall.Seconds()
	}
	return s
}

// percentile returns the p-th percentile by the nearest-rank method: the smallest sample
// that at least p percent of the samples are less than or equal to.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ratio is a/b, or NaN when either is missing.
func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return math.NaN()
	}
	return a / b
}

// memory is the resident size of each process after a data size was loaded and measured.
type memory struct {
	// Stored is the number of runs MySQL held, CRDStored the number etcd held.
	Stored, CRDStored int
	// Note marks a row taken at another moment than after a size's measurements.
	Note string
	RSS  map[string]int64
	// MySQLDisk is what MariaDB's files for the engine's database take on disk,
	// EtcdDisk the size of etcd's database file; 0 when not known.
	MySQLDisk, EtcdDisk int64
}
