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
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// run measures everything and writes the report. A failure at some size still writes
// what the smaller sizes measured, labelled by the sizes it holds.
func run(ctx context.Context, o options) (err error) {
	rep := &report{Started: time.Now(), Options: o, Command: o.command}
	b, err := startEnv(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := b.stop(); stopErr != nil {
			klog.ErrorS(stopErr, "Stopping the environment")
		}
	}()
	klog.InfoS("Environment ready", "elapsed", since(rep.Started))
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.installCRD(ctx); err != nil {
		return err
	}
	tmpl, err := b.makeTemplates(ctx)
	if err != nil {
		return err
	}
	raw := rawTarget{db: b.db, template: tmpl.server}
	if err := raw.setup(ctx); err != nil {
		return err
	}
	rep.Machine = b.machine(ctx, tmpl)

	noFsync, stopNoFsync, err := b.startNoFsyncCRD(ctx)
	if err != nil {
		return err
	}
	crud, err := b.crud(ctx, o, raw, noFsync)
	stopNoFsync()
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, crud...)
	if err := rep.recordMemory(b, 0, ""); err != nil {
		return err
	}

	measured := o
	measured.sizes = nil
	defer func() {
		rep.Finished = time.Now()
		rep.Options = measured
		fmt.Println(rep.table())
		fmt.Println(rep.memoryTable())
		fmt.Println(rep.goals())
		if len(measured.sizes) == 0 {
			return
		}
		if docErr := rep.writeDocs(); docErr != nil {
			err = errors.Join(err, docErr)
			return
		}
		klog.InfoS("Wrote the report", "file", o.docsFile, "charts", o.imgDir)
	}()
	prev := 0
	deferredNoted := false
	for _, size := range o.sizes {
		begin := time.Now()
		if err := b.load(ctx, o, tmpl, prev, size, rep.Memory); err != nil {
			return fmt.Errorf("loading %d runs: %w", size, err)
		}
		loaded := time.Since(begin).Round(time.Second)
		waited, settled, err := settle(ctx, "loading "+storedLabel(size))
		if err != nil {
			return err
		}
		rest := fmt.Sprintf("then %s until the machine was at rest", waited)
		if !settled {
			rest = fmt.Sprintf("then %s, and the machine was still busy", waited)
		}
		rep.LoadTimes = append(rep.LoadTimes, fmt.Sprintf("%s to %s runs into both stores, until both APIs listed them: %s (%s)",
			storedLabel(prev), storedLabel(size), loaded, rest))
		if b.crdStopped != "" {
			// The extrapolation fell short: the rest of the CRD's runs are tried last.
			if err := rep.recordMemory(b, size, "kube-apiserver at its limit"); err != nil {
				return err
			}
			b.crdDeferred, b.crdStopped = b.crdStopped, ""
		}
		if b.crdDeferred != "" && !deferredNoted {
			deferredNoted = true
			rep.LoadTimes = append(rep.LoadTimes, "**At "+storedLabel(size)+", "+b.crdDeferred+".** From this size on, the CRD is not measured "+
				"(its lists would read other data than this server's), and its runs are loaded only after every measurement, "+
				"to see how far kube-apiserver gets; see the last row of the memory table.")
		}
		prev = size
		lists, err := b.lists(ctx, o, size, raw)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, lists...)
		watches, err := b.watchLatency(ctx, o, size)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, watches...)
		if err := rep.recordMemory(b, size, ""); err != nil {
			return err
		}
		measured.sizes = append(measured.sizes, size)
	}
	if rep.Explain, err = b.explain(ctx, o); err != nil {
		return err
	}
	if o.profile {
		if err := b.profiles(ctx, o, prev); err != nil {
			return err
		}
	}
	if o.bigNamespace > 0 {
		big, err := b.loadBigNamespace(ctx, o, tmpl, prev, raw)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, big...)
	}
	// Last of what reads MySQL, as it archives and deletes some of the stored runs.
	if o.retentionBatches > 0 {
		ret, err := b.retentionBatches(ctx, o.retentionBatches, prev, tmpl.completed)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, ret...)
	}
	if b.crdDeferred == "" {
		return nil
	}
	// Last, with nothing left to measure that it could disturb: how far kube-apiserver gets
	// with the CRD's share of the largest size.
	begin := time.Now()
	from := b.crdStored
	b.crdFull = true
	if err := b.loadEtcd(ctx, o, tmpl, from, prev); err != nil {
		return err
	}
	// The consistent list returns once the watch cache has caught up with etcd.
	if _, _, _, err := (crdTarget{c: b.dyn}).list(ctx, b.dataNS[0], "", 1, ""); err != nil {
		return err
	}
	if err := rep.recordMemory(b, prev, "after loading the CRD's runs last"); err != nil {
		return err
	}
	outcome := fmt.Sprintf("all %d runs were loaded", prev)
	if b.crdStopped != "" {
		outcome = b.crdStopped
	}
	rep.LoadTimes = append(rep.LoadTimes, fmt.Sprintf("After the measurements, loading the CRD's runs from %s towards %s (%s): %s.",
		storedLabel(from), storedLabel(prev), time.Since(begin).Round(time.Second), outcome))
	return nil
}

func (r *report) recordMemory(b *benchEnv, stored int, note string) error {
	rss, err := b.rss()
	if err != nil {
		return err
	}
	for _, p := range memoryProcesses {
		if _, ok := rss[p]; !ok {
			return fmt.Errorf("no process %s among the environment's children (found %v)", p, rss)
		}
	}
	klog.InfoS("Memory", "stored", stored, "server", mib(rss["pipelines-apiserver"]), "kubeAPIServer", mib(rss["kube-apiserver"]),
		"etcd", mib(rss["etcd"]), "mariadb", mib(rss["mariadbd"]))
	m := memory{Stored: stored, CRDStored: b.crdStored, Note: note, RSS: rss}
	m.MySQLDisk, m.EtcdDisk = b.diskSizes()
	klog.InfoS("Disk", "stored", stored, "mysql", mib(m.MySQLDisk), "etcd", mib(m.EtcdDisk))
	r.Memory = append(r.Memory, m)
	return nil
}

// diskSizes are the bytes the engine's database takes in MariaDB's files (InnoDB's pages
// of its tables and indexes, free ones included) and the size of etcd's database file.
func (b *benchEnv) diskSizes() (mysqlBytes, etcdBytes int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The sizes are InnoDB's statistics, which lag behind a bulk load until analysed.
	if rows, err := b.db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"); err == nil {
		var tables []string
		for rows.Next() {
			var t string
			if rows.Scan(&t) == nil {
				tables = append(tables, t)
			}
		}
		_ = rows.Close()
		for _, t := range tables {
			if _, err := b.db.ExecContext(ctx, "ANALYZE TABLE `"+t+"`"); err != nil {
				klog.ErrorS(err, "Analysing a table", "table", t)
			}
		}
	}
	var n sql.NullInt64
	err := b.db.QueryRowContext(ctx, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH + DATA_FREE) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()").Scan(&n)
	if err != nil {
		klog.ErrorS(err, "Reading MariaDB's file sizes")
	}
	if cli, err := b.etcd(); err == nil {
		if st, err := cli.Status(ctx, b.env.ControlPlane().EtcdURL()); err == nil {
			etcdBytes = st.DbSize
		}
		_ = cli.Close()
	}
	return n.Int64, etcdBytes
}

// machine describes the machine and the versions of everything measured.
func (b *benchEnv) machine(ctx context.Context, t *templates) []string {
	var out []string
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	memTotal := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(data), "\n"); ok {
			memTotal = strings.Join(strings.Fields(strings.TrimPrefix(line, "MemTotal:")), " ")
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	out = append(out, fmt.Sprintf("%d CPUs (%s), %s memory, Linux %s; client, servers and databases on this one machine",
		runtime.NumCPU(), cpu, memTotal, strings.TrimSpace(string(kernel))))
	out = append(out, "Go "+runtime.Version())
	if v, err := b.runs.Discovery().ServerVersion(); err == nil {
		out = append(out, "kube-apiserver "+v.GitVersion+" (watch cache on, as by default)")
	}
	if cli, err := b.etcd(); err == nil {
		if st, err := cli.Status(ctx, b.env.ControlPlane().EtcdURL()); err == nil {
			out = append(out, "etcd "+st.Version+" syncing every commit to disk, as production clusters run it (the CRD column); "+
				"for the column \"CRD, etcd without fsync\", a second etcd and kube-apiserver with --unsafe-no-fsync, as test/controlplane runs them")
		}
		_ = cli.Close()
	}
	var version string
	if err := b.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err == nil {
		out = append(out, "MariaDB "+version+" (test/framework's settings: innodb_flush_log_at_trx_commit=1, 128 MB buffer pool)")
	}
	out = append(out, fmt.Sprintf("A stored run is %d bytes in MySQL and %d bytes in etcd (the same run created through each API and read back)",
		t.server.size, t.crd.size))
	return out
}
