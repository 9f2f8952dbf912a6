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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"
)

// contender is one target's side of a workload: op does operation i.
type contender struct {
	target string
	op     func(ctx context.Context, i int) error
}

// alternate runs n operations on each contender at the given concurrency, split into
// rounds; within a round the contenders take turns, and every other round in reverse
// order (A B, B A, ...), so that a slow patch of the machine hits all of them alike. Each
// turn starts once the machine is at rest (betweenTurns), so that no target pays for the
// work the turn before it left behind.
func alternate(ctx context.Context, workload string, stored, n, concurrency, rounds int, cs []contender) ([]result, error) {
	results := make([]result, len(cs))
	for i, c := range cs {
		results[i] = result{Workload: workload, Stored: stored, Target: c.target, Samples: make([]time.Duration, 0, n)}
	}
	var rested time.Duration
	busyTurns := 0
	for r := range rounds {
		lo, hi := r*n/rounds, (r+1)*n/rounds
		order := make([]int, len(cs))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			waited, settled, _, err := betweenTurns.wait(ctx)
			if err != nil {
				return nil, err
			}
			rested += waited
			if !settled {
				busyTurns++
			}
			samples, wall, err := runOps(ctx, lo, hi, concurrency, cs[i].op)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", workload, cs[i].target, err)
			}
			results[i].Samples = append(results[i].Samples, samples...)
			results[i].Wall += wall
		}
	}
	klog.InfoS("Rested between turns", "workload", workload, "stored", stored, "waited", rested.Round(time.Millisecond), "turns", rounds*len(cs), "stillBusy", busyTurns)
	for _, r := range results {
		s := r.summary()
		klog.InfoS("Measured", "workload", workload, "stored", stored, "target", r.Target,
			"ops", s.Ops, "perSecond", fmt.Sprintf("%.0f", s.Throughput), "p50", s.P50, "p99", s.P99)
	}
	return results, nil
}

// runOps runs operations [lo, hi) from concurrency workers and returns their latencies
// and the time they took together.
func runOps(ctx context.Context, lo, hi, concurrency int, op func(ctx context.Context, i int) error) ([]time.Duration, time.Duration, error) {
	samples := make([]time.Duration, hi-lo)
	var next atomic.Int64
	next.Store(int64(lo))
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	begin := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= hi || ctx.Err() != nil {
					return
				}
				start := time.Now()
				if err := op(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("operation %d: %w", i, err); cancel() })
					return
				}
				samples[i-lo] = time.Since(start)
			}
		})
	}
	wg.Wait()
	return samples, time.Since(begin), firstErr
}

// crud creates, gets, updates the status of and deletes o.ops runs on each API target
// (and the extra ones), and creates as many rows with bare SQL, at each concurrency level.
func (b *benchEnv) crud(ctx context.Context, o options, raw rawTarget, extra ...apiTarget) ([]result, error) {
	targets := append([]apiTarget{serverTarget{b.runs}, crdTarget{c: b.dyn}}, extra...)
	var all []result
	for _, conc := range o.concurrency {
		name := func(i int) string { return fmt.Sprintf("c%02d-%06d", conc, i) }
		objs := make([][]any, len(targets))
		creates := make([]contender, 0, len(targets)+1)
		for ti, t := range targets {
			objs[ti] = make([]any, o.ops)
			creates = append(creates, contender{t.name(), func(ctx context.Context, i int) error {
				obj, err := t.create(ctx, crudNamespace, name(i), crudExperiment(i))
				objs[ti][i] = obj
				return err
			}})
		}
		creates = append(creates, contender{raw.name(), func(ctx context.Context, i int) error {
			return raw.create(ctx, crudNamespace, name(i), crudExperiment(i))
		}})
		steps := []struct {
			workload string
			cs       []contender
		}{{"create", creates}}
		var gets, updates, deletes []contender
		for ti, t := range targets {
			gets = append(gets, contender{t.name(), func(ctx context.Context, i int) error { return t.get(ctx, crudNamespace, name(i)) }})
			updates = append(updates, contender{t.name(), func(ctx context.Context, i int) error { return t.updateStatus(ctx, objs[ti][i]) }})
			deletes = append(deletes, contender{t.name(), func(ctx context.Context, i int) error { return t.delete(ctx, crudNamespace, name(i)) }})
		}
		steps = append(steps, struct {
			workload string
			cs       []contender
		}{"get", gets}, struct {
			workload string
			cs       []contender
		}{"update status", updates}, struct {
			workload string
			cs       []contender
		}{"delete", deletes})
		for _, s := range steps {
			res, err := alternate(ctx, fmt.Sprintf("%s, concurrency %d", s.workload, conc), 0, o.ops, conc, o.rounds, s.cs)
			if err != nil {
				return nil, err
			}
			all = append(all, res...)
		}
	}
	return all, nil
}

// apiTargets are the API targets measured at the current size: the CRD only while etcd
// holds the same runs as MySQL.
func (b *benchEnv) apiTargets() []apiTarget {
	if !b.crdFull {
		return []apiTarget{serverTarget{b.runs}}
	}
	return []apiTarget{serverTarget{b.runs}, crdTarget{c: b.dyn}}
}

// Workload names of the per-size measurements.
const (
	wlPage     = "list a 100-run page of a namespace"
	wlFiltered = "list a 100-run page of one experiment"
	wlNewest   = "list a 100-run page of a namespace, newest first (recentruns)"
	wlAllNS    = "list a 100-run page of every namespace"
	wlGetAt    = "get one stored run"
	wlCreateAt = "create one run, one at a time (the watched creates)"
	wlWatch    = "watch: create's response to event"
	wlWatchReq = "watch: create's request to event"
	listLimit  = 100
)

// lists reads the first page of one namespace, and of one experiment there, on each
// target, o.listRequests times each, one at a time.
func (b *benchEnv) lists(ctx context.Context, o options, stored int, raw rawTarget) ([]result, error) {
	ns := b.dataNS[42%len(b.dataNS)]
	experiment := fmt.Sprintf("exp-%03d", 42%o.experiments)
	perNS := stored / o.namespaces
	wantFiltered := min(listLimit, (perNS+o.experiments-1-42%o.experiments)/o.experiments)
	var all []result
	for _, w := range []struct {
		workload, experiment string
		want                 int
	}{{wlPage, "", min(listLimit, perNS)}, {wlFiltered, experiment, wantFiltered}} {
		var cs []contender
		for _, t := range b.apiTargets() {
			cs = append(cs, contender{t.name(), func(ctx context.Context, _ int) error {
				n, _, _, err := t.list(ctx, ns, w.experiment, listLimit, "")
				if err == nil && n != w.want {
					err = fmt.Errorf("listed %d runs, want %d", n, w.want)
				}
				return err
			}})
		}
		cs = append(cs, contender{raw.name(), func(ctx context.Context, _ int) error {
			n, err := raw.list(ctx, ns, w.experiment, listLimit)
			if err == nil && n != w.want {
				err = fmt.Errorf("read %d rows, want %d", n, w.want)
			}
			return err
		}})
		res, err := alternate(ctx, w.workload, stored, o.listRequests, 1, o.rounds, cs)
		if err != nil {
			return nil, err
		}
		all = append(all, res...)
	}
	// Every namespace's first page: what `kubectl get runs -A` and every informer's first
	// list send. Its cost must not grow with the stored runs.
	var cs []contender
	for _, t := range b.apiTargets() {
		cs = append(cs, contender{t.name(), func(ctx context.Context, _ int) error {
			n, _, _, err := t.list(ctx, "", "", listLimit, "")
			if err == nil && n != listLimit {
				err = fmt.Errorf("listed %d runs, want %d", n, listLimit)
			}
			return err
		}})
	}
	cs = append(cs, contender{raw.name(), func(ctx context.Context, _ int) error {
		n, err := raw.list(ctx, "", "", listLimit)
		if err == nil && n != listLimit {
			err = fmt.Errorf("read %d rows, want %d", n, listLimit)
		}
		return err
	}})
	res, err := alternate(ctx, wlAllNS, stored, o.listRequests, 1, o.rounds, cs)
	if err != nil {
		return nil, err
	}
	all = append(all, res...)
	newest, err := b.newestFirst(ctx, o, wlNewest, stored, ns, "", min(listLimit, perNS), raw)
	if err != nil {
		return nil, err
	}
	all = append(all, newest...)
	// Gets of runs spread over the namespace, a different one each time, so that no
	// cache serves a run read just before.
	name := func(i int) string { return fmt.Sprintf("run-%07d", (i*7919)%perNS) }
	cs = nil
	for _, t := range b.apiTargets() {
		cs = append(cs, contender{t.name(), func(ctx context.Context, i int) error { return t.get(ctx, ns, name(i)) }})
	}
	cs = append(cs, contender{raw.name(), func(ctx context.Context, i int) error { return raw.get(ctx, ns, name(i)) }})
	gets, err := alternate(ctx, wlGetAt, stored, o.listRequests, 1, o.rounds, cs)
	if err != nil {
		return nil, err
	}
	return append(all, gets...), nil
}

// newestFirst reads the first page of recentruns in ns (of experiment, if not empty) on
// this server, beside the same index read with bare SQL. The CRD has no such list.
func (b *benchEnv) newestFirst(ctx context.Context, o options, workload string, stored int, ns, experiment string, want int, raw rawTarget) ([]result, error) {
	server := serverTarget{b.runs}
	return alternate(ctx, workload, stored, o.listRequests, 1, o.rounds, []contender{
		{server.name(), func(ctx context.Context, _ int) error {
			n, _, err := server.listNewest(ctx, ns, experiment, listLimit, "")
			if err == nil && n != want {
				err = fmt.Errorf("listed %d runs newest first, want %d", n, want)
			}
			return err
		}},
		{raw.name(), func(ctx context.Context, _ int) error {
			n, err := raw.listNewest(ctx, ns, experiment, listLimit)
			if err == nil && n != want {
				err = fmt.Errorf("read %d rows newest first, want %d", n, want)
			}
			return err
		}},
	})
}

// Workloads of the one large namespace.
const (
	wlBigPage         = "one namespace of the large size: 100-run page by name (runs)"
	wlBigNewest       = "one namespace of the large size: 100-run page newest first (recentruns)"
	wlBigNewestFilter = "one namespace of the large size: 100-run page of one experiment, newest first"
	wlBigFiltered     = "one namespace of the large size: 100-run page of one experiment (runs)"
	bigNS             = "bench-big"
)

// loadBigNamespace loads o.bigNamespace runs into one namespace of this server only (its runs
// are loaded with the same creation times as the others, newest last) and reads its
// first page by key, as today's runs list does, and newest first, on this server and with
// bare SQL. stored is how many runs were stored before.
func (b *benchEnv) loadBigNamespace(ctx context.Context, o options, t *templates, stored int, raw rawTarget) ([]result, error) {
	if err := b.env.ControlPlane().EnsureNamespace(ctx, bigNS); err != nil {
		return nil, err
	}
	if err := b.createExperiments(ctx, bigNS); err != nil {
		return nil, err
	}
	n := o.bigNamespace
	run := func(i int) (string, string, string, string) {
		return bigNS, fmt.Sprintf("run-%07d", i), loadedExperiment(i % o.experiments), fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
	}
	begin := time.Now()
	if err := b.loadMySQLRuns(ctx, t, 0, n, func(k int) int { return k }, run); err != nil {
		return nil, err
	}
	server := serverTarget{b.runs}
	if err := waitCount(ctx, server, bigNS, n); err != nil {
		return nil, err
	}
	// A namespace's page costs the CRD in proportion to the namespace, not to the total, so
	// the CRD gets the same namespace. While the environment's etcd holds every run so far (a
	// quick run) it goes there; otherwise its kube-apiserver is at its memory limit, and a
	// fresh etcd, syncing as the CRD column's does, and kube-apiserver hold this namespace
	// alone.
	crd, etcdURL := crdTarget{c: b.dyn}, b.env.ControlPlane().EtcdURL()
	if !b.crdFull {
		cp, dyn, stop, err := b.startCRDControlPlane(ctx, true, bigNS)
		if err != nil {
			return nil, err
		}
		defer stop()
		crd, etcdURL = crdTarget{c: dyn}, cp.EtcdURL()
	}
	if err := b.loadEtcdRuns(ctx, etcdURL, t, n, run); err != nil {
		return nil, err
	}
	if err := waitCount(ctx, crd, bigNS, n); err != nil {
		return nil, err
	}
	targets := []apiTarget{server, crd}
	klog.InfoS("Loaded one large namespace", "runs", n, "crdFresh", !b.crdFull, "elapsed", time.Since(begin).Round(time.Millisecond))
	if _, _, err := settle(ctx, "loading one large namespace"); err != nil {
		return nil, err
	}
	total := stored + n
	experiment := fmt.Sprintf("exp-%03d", 42%o.experiments)
	var cs []contender
	for _, t := range targets {
		cs = append(cs, contender{t.name(), func(ctx context.Context, _ int) error {
			got, _, _, err := t.list(ctx, bigNS, experiment, listLimit, "")
			if err == nil && got != min(listLimit, n/o.experiments) {
				err = fmt.Errorf("listed %d runs of %s, want %d", got, experiment, min(listLimit, n/o.experiments))
			}
			return err
		}})
	}
	cs = append(cs, contender{raw.name(), func(ctx context.Context, _ int) error {
		_, err := raw.list(ctx, bigNS, experiment, listLimit)
		return err
	}})
	byExperiment, err := alternate(ctx, wlBigFiltered, total, o.listRequests, 1, o.rounds, cs)
	if err != nil {
		return nil, err
	}
	cs = nil
	for _, t := range targets {
		cs = append(cs, contender{t.name(), func(ctx context.Context, _ int) error {
			got, _, _, err := t.list(ctx, bigNS, "", listLimit, "")
			if err == nil && got != listLimit {
				err = fmt.Errorf("listed %d runs, want %d", got, listLimit)
			}
			return err
		}})
	}
	page, err := alternate(ctx, wlBigPage, total, o.listRequests, 1, o.rounds, append(cs, []contender{
		{raw.name(), func(ctx context.Context, _ int) error {
			got, err := raw.list(ctx, bigNS, "", listLimit)
			if err == nil && got != listLimit {
				err = fmt.Errorf("read %d rows, want %d", got, listLimit)
			}
			return err
		}},
	}...))
	if err != nil {
		return nil, err
	}
	newest, err := b.newestFirst(ctx, o, wlBigNewest, total, bigNS, "", listLimit, raw)
	if err != nil {
		return nil, err
	}
	filtered, err := b.newestFirst(ctx, o, wlBigNewestFilter, total, bigNS, fmt.Sprintf("exp-%03d", 42%o.experiments),
		min(listLimit, n/o.experiments), raw)
	if err != nil {
		return nil, err
	}
	return append(append(append(page, byExperiment...), newest...), filtered...), nil
}

// watchLatency creates runs one at a time in crudNamespace while a watch on it is open,
// and measures from each create's response to its ADDED event (negative when the event
// arrives first, as kube-apiserver's watch cache can make it), and from the create's
// request to the event, which includes the write.
func (b *benchEnv) watchLatency(ctx context.Context, o options, stored int) ([]result, error) {
	// Each watched create's delay, keyed by target and name, until collected below in
	// operation order.
	var watchDelays sync.Map
	var cs []contender
	for _, t := range b.apiTargets() {
		arrived := map[string]time.Time{}
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		_, _, rv, err := t.list(ctx, crudNamespace, "", 1, "")
		if err != nil {
			return nil, err
		}
		w, err := t.watch(ctx, crudNamespace, rv)
		if err != nil {
			return nil, fmt.Errorf("watching %s: %w", t.name(), err)
		}
		defer w.Stop()
		go func() {
			for ev := range w.ResultChan() {
				now := time.Now()
				if ev.Type != watch.Added {
					continue
				}
				m, err := meta.Accessor(ev.Object)
				if err != nil {
					continue
				}
				mu.Lock()
				arrived[m.GetName()] = now
				cond.Broadcast()
				mu.Unlock()
			}
			mu.Lock()
			arrived[""] = time.Now() // closed
			cond.Broadcast()
			mu.Unlock()
		}()
		cs = append(cs, contender{t.name(), func(ctx context.Context, i int) error {
			name := fmt.Sprintf("w%08d-%05d", stored, i)
			requested := time.Now()
			if _, err := t.create(ctx, crudNamespace, name, crudExperiment(i)); err != nil {
				return err
			}
			responded := time.Now()
			deadline := time.AfterFunc(30*time.Second, func() { mu.Lock(); cond.Broadcast(); mu.Unlock() })
			defer deadline.Stop()
			mu.Lock()
			defer mu.Unlock()
			for {
				if at, ok := arrived[name]; ok {
					// The operation's latency is replaced by the event's delays.
					watchDelays.Store(t.name()+"/"+name, [3]time.Duration{at.Sub(responded), at.Sub(requested), responded.Sub(requested)})
					return nil
				}
				if _, closed := arrived[""]; closed {
					return fmt.Errorf("the watch closed before the event of %s", name)
				}
				if time.Since(responded) > 30*time.Second {
					return fmt.Errorf("no event for %s within 30s", name)
				}
				cond.Wait()
			}
		}})
	}
	res, err := alternate(ctx, wlWatch, stored, o.watchEvents, 1, o.rounds, cs)
	if err != nil {
		return nil, err
	}
	var out []result
	for _, r := range res {
		fromResponse := result{Workload: wlWatch, Stored: stored, Target: r.Target}
		fromRequest := result{Workload: wlWatchReq, Stored: stored, Target: r.Target}
		creates := result{Workload: wlCreateAt, Stored: stored, Target: r.Target}
		for i := range r.Samples {
			v, ok := watchDelays.LoadAndDelete(r.Target + "/" + fmt.Sprintf("w%08d-%05d", stored, i))
			if !ok {
				return nil, fmt.Errorf("no watch delay recorded for %s %d", r.Target, i)
			}
			d := v.([3]time.Duration)
			fromResponse.Samples = append(fromResponse.Samples, d[0])
			fromRequest.Samples = append(fromRequest.Samples, d[1])
			creates.Samples = append(creates.Samples, d[2])
			creates.Wall += d[2]
		}
		// No Wall: a rate of sequential creates says nothing about watch.
		a, b := fromResponse.summary(), fromRequest.summary()
		klog.InfoS("Watch delay", "stored", stored, "target", r.Target, "fromResponseP50", a.P50, "fromResponseP99", a.P99,
			"fromRequestP50", b.P50, "fromRequestP99", b.P99)
		out = append(out, creates, fromResponse, fromRequest)
	}
	return out, nil
}
