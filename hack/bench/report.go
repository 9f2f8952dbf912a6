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
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// report is everything one run measured.
type report struct {
	Started, Finished time.Time
	Machine           []string // lines describing the machine and versions
	Command           string
	Options           options
	Results           []result
	Memory            []memory
	Explain           string
	LoadTimes         []string
}

// find returns the result of a workload, size and target, or nil.
func (r *report) find(workload string, stored int, target string) *result {
	for i := range r.Results {
		x := &r.Results[i]
		if x.Workload == workload && x.Stored == stored && x.Target == target {
			return x
		}
	}
	return nil
}

// rows are the table's lines in measurement order: one per workload and size.
func (r *report) rows() [][2]any {
	var out [][2]any
	seen := map[string]bool{}
	for _, x := range r.Results {
		k := fmt.Sprintf("%s@%d", x.Workload, x.Stored)
		if !seen[k] {
			seen[k] = true
			out = append(out, [2]any{x.Workload, x.Stored})
		}
	}
	return out
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "−" + fmtDuration(-d)
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtCell(x *result) string {
	if x == nil {
		return "—"
	}
	s := x.summary()
	rate := "—"
	if s.Throughput > 0 {
		rate = fmt.Sprintf("%.0f/s", s.Throughput)
	}
	return fmt.Sprintf("%s, %s, %s", rate, fmtDuration(s.P50), fmtDuration(s.P99))
}

// speedup is how many times faster a is than b: the ratio of throughputs, or for the
// watch (no throughput) the inverse ratio of the p50 delays.
func speedup(a, b *result) float64 {
	if a == nil || b == nil {
		return math.NaN()
	}
	sa, sb := a.summary(), b.summary()
	if sa.Throughput > 0 && sb.Throughput > 0 {
		return ratio(sa.Throughput, sb.Throughput)
	}
	return ratio(float64(sb.P50), float64(sa.P50))
}

func storedLabel(n int) string {
	switch {
	case n == 0:
		return "0"
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	default:
		return fmt.Sprint(n)
	}
}

// table is the results as Markdown.
func (r *report) table() string {
	var b strings.Builder
	b.WriteString("| workload | stored runs | this server: rate, p50, p99 | CRD: rate, p50, p99 | raw SQL: rate, p50, p99 | this/CRD | this/raw SQL | CRD, etcd without fsync: rate, p50, p99 | this/CRD without fsync |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.rows() {
		w, n := row[0].(string), row[1].(int)
		srv, crd, raw := r.find(w, n, targetServer), r.find(w, n, targetCRD), r.find(w, n, targetRaw)
		noFsync := r.find(w, n, targetCRDNoFsync)
		stored := storedLabel(n)
		if n == 0 {
			stored = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, stored, fmtCell(srv), fmtCell(crd), fmtCell(raw),
			fmtRatio(speedup(srv, crd)), fmtRatio(speedup(srv, raw)), fmtCell(noFsync), fmtRatio(speedup(srv, noFsync)))
	}
	return b.String()
}

func mib(v int64) string { return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20)) }

// memoryTable shows each process's resident size before the first load and after each
// size was loaded and measured.
func (r *report) memoryTable() string {
	var b strings.Builder
	b.WriteString("| moment | runs in MySQL | runs in etcd | this server | kube-apiserver | etcd | MariaDB | MySQL on disk | etcd on disk |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.Memory {
		moment := "after measuring"
		switch {
		case m.Note != "":
			moment = m.Note
		case m.Stored == 0:
			moment = "before loading"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", moment, storedLabel(m.Stored), storedLabel(m.CRDStored),
			mib(m.RSS["pipelines-apiserver"]), mib(m.RSS["kube-apiserver"]), mib(m.RSS["etcd"]), mib(m.RSS["mariadbd"]),
			mib(m.MySQLDisk), mib(m.EtcdDisk))
	}
	return b.String()
}

// goals checks issue 16's goals against this run's numbers: each ratio is of targets
// measured side by side in this run.
func (r *report) goals() string {
	var b strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "**met**"
		}
		return "**missed**"
	}
	n := 0
	item := func(format string, args ...any) {
		n++
		fmt.Fprintf(&b, "%d. "+format+"\n", append([]any{n}, args...)...)
	}
	if slicesContains(r.Options.concurrency, 16) {
		for _, op := range []string{"create", "get", "update status", "delete"} {
			w := op + ", concurrency 16"
			v := speedup(r.find(w, 0, targetServer), r.find(w, 0, targetCRD))
			item("%s at concurrency 16, this server / CRD (etcd with fsync): %s (goal ≥ 1): %s; against etcd without fsync: %s.",
				upperFirst(op), fmtRatio(v), verdict(v >= 1), fmtRatio(speedup(r.find(w, 0, targetServer), r.find(w, 0, targetCRDNoFsync))))
		}
	}
	sizes := r.Options.sizes
	if len(sizes) == 0 {
		return b.String()
	}
	smallest, largest := sizes[0], sizes[len(sizes)-1]
	both := 0
	for _, n := range sizes {
		if r.find(wlFiltered, n, targetServer) != nil && r.find(wlFiltered, n, targetCRD) != nil {
			both = n
		}
	}
	if v := speedup(r.find(wlFiltered, smallest, targetServer), r.find(wlFiltered, smallest, targetCRD)); !math.IsNaN(v) {
		item("Filtered page among %s stored runs, this server / CRD: %s (goal ≥ 1): %s.", storedLabel(smallest), fmtRatio(v), verdict(v >= 1))
	}
	if both > smallest {
		v := speedup(r.find(wlFiltered, both, targetServer), r.find(wlFiltered, both, targetCRD))
		item("Filtered page among %s stored runs, the largest size the CRD was measured at, this server / CRD: %s (goal ≥ 10 at the largest size): %s%s.",
			storedLabel(both), fmtRatio(v), verdict(v >= 10), map[bool]string{true: "; the CRD could not hold " + storedLabel(largest) + " runs here (see Loading)", false: ""}[both < largest])
	}
	for _, x := range r.Results {
		if x.Workload != wlBigFiltered || x.Target != targetCRD {
			continue
		}
		v := speedup(r.find(wlBigFiltered, x.Stored, targetServer), &x)
		item("Filtered page in one namespace of %s runs (what a namespace holds at 10M stored runs here), this server / CRD: %s (goal ≥ 10): %s.",
			storedLabel(r.Options.bigNamespace), fmtRatio(v), verdict(v >= 10))
	}
	const pageGoal = 50 * time.Millisecond
	for _, w := range []string{wlPage, wlAllNS, wlFiltered, wlNewest, wlGetAt, wlWatch, wlWatchReq} {
		x := r.find(w, largest, targetServer)
		if x == nil {
			continue
		}
		s := x.summary()
		item("At %s stored runs, %s on this server: p50 %s, p99 %s (goal: p99 under 50 ms): %s.", storedLabel(largest), w,
			fmtDuration(s.P50), fmtDuration(s.P99), verdict(s.P99 < pageGoal))
	}
	if a, z := r.find(wlAllNS, smallest, targetServer), r.find(wlAllNS, largest, targetServer); a != nil && z != nil && largest > smallest {
		item("Every namespace's page from %s to %s stored runs: p50 %s to %s (×%s), p99 %s to %s.", storedLabel(smallest), storedLabel(largest),
			fmtDuration(a.summary().P50), fmtDuration(z.summary().P50), fmtRatio(ratio(float64(z.summary().P50), float64(a.summary().P50))),
			fmtDuration(a.summary().P99), fmtDuration(z.summary().P99))
	}
	// This server: against its figure at 100k (or the smallest size), after measuring.
	var base, last *memory
	for i := range r.Memory {
		m := &r.Memory[i]
		if m.Stored == 0 || m.Note != "" {
			continue
		}
		if base == nil || (m.Stored <= 100_000 && m.Stored > base.Stored) {
			base = m
		}
		last = m
	}
	if base != nil && last != base {
		v := ratio(float64(last.RSS["pipelines-apiserver"]), float64(base.RSS["pipelines-apiserver"]))
		item("This server's resident memory at %s stored runs against %s: %s against %s, ×%s (goal ≤ 1.5): %s. MySQL on disk at %s: %s.",
			storedLabel(last.Stored), storedLabel(base.Stored), mib(last.RSS["pipelines-apiserver"]), mib(base.RSS["pipelines-apiserver"]),
			fmtRatio(v), verdict(v <= 1.5), storedLabel(last.Stored), mib(last.MySQLDisk))
	}
	for _, w := range []string{wlArchive, wlDelete} {
		if x := r.find(w, largest, targetServer); x != nil {
			s := x.summary()
			item("Retention at %s stored runs, %s: p50 %s, p99 %s (%s a run at p50).", storedLabel(largest), w, fmtDuration(s.P50), fmtDuration(s.P99),
				fmtDuration(s.P50/retentionBatch))
		}
	}
	return b.String()
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Markers around the part of performance.md that a run rewrites; the rest of the file
// (the analysis) is kept.
const (
	beginGenerated = "<!-- BEGIN GENERATED BY hack/bench: do not edit by hand -->"
	endGenerated   = "<!-- END GENERATED BY hack/bench -->"
)

// markdown is the generated section.
func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString(beginGenerated + "\n\n")
	fmt.Fprintf(&b, "Run of %s, %s to %s UTC (%s).\n\n", r.Started.UTC().Format("2006-01-02"), r.Started.UTC().Format("15:04"),
		r.Finished.UTC().Format("15:04"), r.Finished.Sub(r.Started).Round(time.Second))
	fmt.Fprintf(&b, "Command:\n\n```\n%s\n```\n\n", r.Command)
	b.WriteString("Machine and versions:\n\n")
	for _, m := range r.Machine {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	o := r.Options
	fmt.Fprintf(&b, "\nSettings: %d operations per CRUD workload, target and concurrency level, in %d alternating rounds; "+
		"%d requests per list workload, target and size; %d watched creates per target and size; "+
		"loaded runs spread over %d namespaces and %d experiments per namespace.\n\n",
		o.ops, o.rounds, o.listRequests, o.watchEvents, o.namespaces, o.experiments)
	b.WriteString("Rates are operations per second of wall time (lists and watched creates run one at a time); " +
		"p50 and p99 are per-operation latencies, or for the watch the delay from the create's response to the event " +
		"(negative: the event arrived before the response) and from its request to the event. " +
		"Ratios divide this server's rate by the other's (for the watch, the other's p50 delay by this server's): " +
		"above 1, this server is faster.\n\n")
	b.WriteString(r.table())
	b.WriteString("\nResident memory (VmRSS), after each size was loaded and measured:\n\n")
	b.WriteString(r.memoryTable())
	if len(r.LoadTimes) > 0 {
		b.WriteString("\nLoading:\n\n")
		for _, l := range r.LoadTimes {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	b.WriteString("\nGoals, from this run:\n\n")
	b.WriteString(r.goals())
	b.WriteString("\n![list page latency](img/list-page.png)\n![filtered list latency](img/list-filtered.png)\n" +
		"![watch delay](img/watch.png)\n![memory](img/memory.png)\n")
	if r.Explain != "" {
		b.WriteString("\nMariaDB's plans for the page queries and for retention's read of its index (EXPLAIN, at the largest size):\n\n")
		b.WriteString(r.Explain)
	}
	b.WriteString("\n" + endGenerated + "\n")
	return b.String()
}

// writeDocs replaces the generated section of the performance document, creating the
// document if need be, and draws the charts.
func (r *report) writeDocs() error {
	o := r.Options
	if err := os.MkdirAll(o.imgDir, 0o755); err != nil {
		return err
	}
	section := r.markdown()
	old, err := os.ReadFile(o.docsFile)
	var doc string
	switch {
	case errors.Is(err, os.ErrNotExist):
		doc = "# Performance\n\n" + section
	case err != nil:
		return err
	default:
		s := string(old)
		i, j := strings.Index(s, beginGenerated), strings.Index(s, endGenerated)
		if i < 0 || j < i {
			doc = s + "\n" + section
		} else {
			doc = s[:i] + section + strings.TrimPrefix(s[j+len(endGenerated):], "\n")
		}
	}
	if err := os.WriteFile(o.docsFile, []byte(doc), 0o644); err != nil {
		return err
	}
	return r.charts()
}

// series is one line of a chart.
type series struct {
	name string
	xys  plotter.XYs
}

func (r *report) latencySeries(workload string) []series {
	var out []series
	for _, target := range []string{targetServer, targetCRD, targetRaw} {
		for _, q := range []struct {
			label string
			p     func(summary) time.Duration
		}{{"p50", func(s summary) time.Duration { return s.P50 }}, {"p99", func(s summary) time.Duration { return s.P99 }}} {
			var xys plotter.XYs
			for _, n := range r.Options.sizes {
				if x := r.find(workload, n, target); x != nil {
					ms := float64(q.p(x.summary())) / float64(time.Millisecond)
					xys = append(xys, plotter.XY{X: float64(n), Y: math.Max(ms, 0.01)})
				}
			}
			if len(xys) > 0 {
				out = append(out, series{target + " " + q.label, xys})
			}
		}
	}
	return out
}

func (r *report) charts() error {
	// This server and MariaDB against the runs in MySQL; kube-apiserver and etcd against
	// the runs in etcd (which stop growing at the memory limit).
	var mem []series
	for _, p := range memoryProcesses {
		crdSide := p == "kube-apiserver" || p == "etcd"
		var xys plotter.XYs
		for _, m := range r.Memory {
			switch {
			case crdSide && m.CRDStored > 0 && (m.CRDStored == m.Stored || m.Note != ""):
				xys = append(xys, plotter.XY{X: float64(m.CRDStored), Y: float64(m.RSS[p]) / (1 << 20)})
			case !crdSide && m.Stored > 0 && m.Note == "":
				xys = append(xys, plotter.XY{X: float64(m.Stored), Y: float64(m.RSS[p]) / (1 << 20)})
			}
		}
		mem = append(mem, series{p, xys})
	}
	for _, c := range []struct {
		file, title, y string
		s              []series
		logY           bool
	}{
		{"list-page.png", "List a 100-run page of a namespace", "latency (ms)", r.latencySeries(wlPage), true},
		{"list-filtered.png", "List a 100-run page of one experiment", "latency (ms)", r.latencySeries(wlFiltered), true},
		{"watch.png", "Watch: create's request to event", "delay (ms)", r.latencySeries(wlWatchReq), true},
		{"memory.png", "Resident memory (kube-apiserver, etcd: against runs in etcd)", "RSS (MiB)", mem, false},
	} {
		if err := lineChart(filepath.Join(r.Options.imgDir, c.file), c.title, c.y, c.s, c.logY); err != nil {
			return fmt.Errorf("drawing %s: %w", c.file, err)
		}
	}
	return nil
}

// Colours per target and dashes per percentile, so that a chart reads at a glance.
var (
	targetColors = map[string]color.Color{
		targetServer: color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		targetCRD:    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		targetRaw:    color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	}
	processColors = map[string]color.Color{
		"pipelines-apiserver": targetColors[targetServer],
		"kube-apiserver":      targetColors[targetCRD],
		"etcd":                color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		"mariadbd":            color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	}
)

func seriesStyle(name string) (color.Color, []vg.Length) {
	var dashes []vg.Length
	if strings.HasSuffix(name, " p99") {
		dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	for prefix, c := range processColors {
		if name == prefix {
			return c, dashes
		}
	}
	for prefix, c := range targetColors {
		if strings.HasPrefix(name, prefix+" ") {
			return c, dashes
		}
	}
	return color.Black, dashes
}

// lineChart draws series against the number of stored runs, on a logarithmic x axis.
func lineChart(file, title, yLabel string, ss []series, logY bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "stored runs"
	p.Y.Label.Text = yLabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(-8)
	p.Add(plotter.NewGrid())
	for _, s := range ss {
		if len(s.xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return err
		}
		c, dashes := seriesStyle(s.name)
		line.Color, line.Dashes, line.Width = c, dashes, vg.Points(1.5)
		points.Color = c
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, file)
}
