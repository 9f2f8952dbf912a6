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

// Command bench is `make bench`: it starts the local control plane of `make run`
// (test/framework), installs a CustomResourceDefinition with the schema of Run in another
// group, and runs the same workloads against this server's runs and the CRD's through the
// same kube-apiserver, alternating between them so that machine noise hits both, with
// bare SQL on the same MariaDB as the floor. It prints a table and writes it, with charts,
// into docs/performance.md and docs/img/.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// options are the command's flags. The defaults are the full run; -quick selects sizes
// that fit in a few minutes.
type options struct {
	quick        bool
	sizes        []int
	ops          int
	concurrency  []int
	rounds       int
	listRequests int
	watchEvents  int
	// retentionBatches is how many batches of retention are timed at the largest size.
	retentionBatches int
	namespaces       int
	experiments      int
	// bigNamespace is how many runs the one large namespace gets, after the sizes.
	bigNamespace int
	outDir       string
	imgDir       string
	docsFile     string
	profile      bool
	profileTime  time.Duration
	command      string
	// maxAPIServerRSS stops loading the CRD's runs when kube-apiserver's resident memory
	// passes it, so that its watch cache cannot exhaust the machine.
	maxAPIServerRSS int64
	// serverArgs are appended to this server's flags.
	serverArgs []string
}

func defaultOptions(quick bool) options {
	o := options{
		quick: quick,
		// 10M is what etcd cannot hold; 300k is about the most the CRD holds within
		// -max-kube-apiserver-rss here, where the two are last compared side by side.
		sizes:            []int{10_000, 100_000, 300_000, 1_000_000, 10_000_000},
		ops:              3000,
		concurrency:      []int{1, 16, 64},
		rounds:           4,
		listRequests:     200,
		watchEvents:      300,
		retentionBatches: 10,
		namespaces:       100,
		experiments:      100,
		bigNamespace:     100_000,
		outDir:           "docs",
		profile:          true,
		profileTime:      15 * time.Second,
		// Half of this two-core, 24 GiB machine's memory, which other jobs share.
		maxAPIServerRSS: 12 << 30,
	}
	if quick {
		o.sizes = []int{10_000, 100_000}
		o.ops = 400
		o.listRequests = 40
		o.watchEvents = 100
		o.retentionBatches = 4
		o.profileTime = 5 * time.Second
		o.outDir = ".local/bench-quick"
	}
	return o
}

// intList is a comma-separated list of positive integers as a flag.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v <= 0 {
			return fmt.Errorf("%q is not a positive integer", part)
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

func parseFlags(args []string) (options, error) {
	// -quick changes the defaults of the other flags, so it is looked for first.
	quick := false
	for _, a := range args {
		if a == "-quick" || a == "--quick" || a == "-quick=true" || a == "--quick=true" {
			quick = true
		}
	}
	o := defaultOptions(quick)
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	klog.InitFlags(fs)
	fs.BoolVar(&o.quick, "quick", o.quick, "quick sizes and durations (a few minutes), for development; results go to .local/bench-quick unless -out says otherwise")
	sizes, conc := intList(o.sizes), intList(o.concurrency)
	fs.Var(&sizes, "sizes", "numbers of stored runs to measure lists, watch and memory at, ascending, comma-separated")
	fs.Var(&conc, "concurrency", "concurrency levels of the create, get, update-status and delete workloads")
	fs.IntVar(&o.ops, "ops", o.ops, "operations per target for each CRUD workload and concurrency level")
	fs.IntVar(&o.rounds, "rounds", o.rounds, "rounds each workload is split into; targets alternate within a round (A B, then B A)")
	fs.IntVar(&o.listRequests, "list-requests", o.listRequests, "requests per target for each list workload and size")
	fs.IntVar(&o.watchEvents, "watch-events", o.watchEvents, "creates timed from response to watch event, per target and size")
	fs.IntVar(&o.retentionBatches, "retention-batches", o.retentionBatches, "batches of retention (500 runs each) timed archiving, and as many deleting, at the largest size")
	fs.IntVar(&o.namespaces, "namespaces", o.namespaces, "namespaces the stored runs are spread over")
	fs.IntVar(&o.experiments, "experiments", o.experiments, "experiments per namespace the stored runs are spread over")
	fs.IntVar(&o.bigNamespace, "big-namespace", o.bigNamespace, "runs loaded into one more namespace after the sizes, whose first page is read by name and newest first (0: none)")
	fs.StringVar(&o.outDir, "out", o.outDir, "directory for performance.md, img/ and profiles/")
	fs.BoolVar(&o.profile, "profile", o.profile, "capture this server's CPU and heap profiles at the largest size")
	fs.DurationVar(&o.profileTime, "profile-time", o.profileTime, "length of each CPU profile")
	fs.Int64Var(&o.maxAPIServerRSS, "max-kube-apiserver-rss", o.maxAPIServerRSS, "bytes of kube-apiserver resident memory past which no more CRD runs are loaded; larger sizes are then measured on this server and raw SQL only")
	fs.Func("server-arg", "a flag to append to this server's flags, e.g. -server-arg=--v=4 (repeatable)", func(v string) error {
		o.serverArgs = append(o.serverArgs, v)
		return nil
	})
	fs.StringVar(&o.command, "command", "make bench", "the command to print in the report as the way to reproduce it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.sizes, o.concurrency = sizes, conc
	for i := 1; i < len(o.sizes); i++ {
		if o.sizes[i] <= o.sizes[i-1] {
			return o, fmt.Errorf("-sizes must ascend: %v", o.sizes)
		}
	}
	largest := o.sizes[len(o.sizes)-1]
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "retention-batches" })
	if !set {
		o.retentionBatches = min(o.retentionBatches, largest/retentionBatch)
	}
	if o.retentionBatches < 0 || o.retentionBatches*retentionBatch > largest {
		return o, fmt.Errorf("-retention-batches=%d would need more than the %d runs of the largest size", o.retentionBatches, largest)
	}
	for _, s := range o.sizes {
		if s%o.namespaces != 0 {
			return o, fmt.Errorf("size %d is not a multiple of -namespaces=%d", s, o.namespaces)
		}
	}
	if o.ops < o.rounds || o.listRequests < o.rounds || o.watchEvents < o.rounds || o.rounds < 1 {
		return o, fmt.Errorf("-ops, -list-requests and -watch-events must be at least -rounds=%d", o.rounds)
	}
	o.imgDir = o.outDir + "/img"
	o.docsFile = o.outDir + "/performance.md"
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	begin := time.Now()
	if err := run(ctx, o); err != nil {
		klog.ErrorS(err, "Benchmark failed", "elapsed", time.Since(begin).Round(time.Second))
		klog.Flush()
		os.Exit(1)
	}
	klog.InfoS("Benchmark done", "elapsed", time.Since(begin).Round(time.Second))
	klog.Flush()
}
