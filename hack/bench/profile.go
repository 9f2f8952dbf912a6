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
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	runregistry "github.com/pipelines-apiserver/pipelines-apiserver/pkg/registry/run"
	mysqlstorage "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql"
)

// fetchProfile GETs one of the server's /debug/pprof endpoints into dir/file.
func (b *benchEnv) fetchProfile(ctx context.Context, path, dir, file string) error {
	return fetchProfileFrom(ctx, b.serverConfig(), path, dir, file)
}

// fetchProfileFrom GETs a /debug/pprof endpoint of the server cfg names into dir/file:
// this server's, or kube-apiserver's (which serves it to the administrator).
func fetchProfileFrom(ctx context.Context, cfg *rest.Config, path, dir, file string) error {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// profileWhile takes a CPU profile of the server while op runs over and over, one at a
// time from each of concurrency workers.
func (b *benchEnv) profileWhile(ctx context.Context, o options, file string, concurrency int, op func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var counter atomic.Int64
	errs := make(chan error, concurrency)
	for range concurrency {
		go func() {
			for ctx.Err() == nil {
				if err := op(ctx, int(counter.Add(1))); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Both processes at once: a request through the aggregator costs CPU in each.
	seconds := strconv.Itoa(int(o.profileTime.Seconds()))
	dir := filepath.Join(o.outDir, "profiles")
	kasErr := make(chan error, 1)
	go func() {
		kasErr <- fetchProfileFrom(ctx, b.admin, "/debug/pprof/profile?seconds="+seconds, dir, "kube-apiserver-"+strings.TrimPrefix(file, "server-"))
	}()
	err := b.fetchProfile(ctx, "/debug/pprof/profile?seconds="+seconds, dir, file)
	err = errors.Join(err, <-kasErr)
	cancel()
	select {
	case opErr := <-errs:
		return fmt.Errorf("the profiled workload failed: %w", opErr)
	default:
	}
	klog.InfoS("Profiled", "file", file, "operations", counter.Load())
	return err
}

// profiles takes the server's CPU profiles of a create at concurrency 16 and of the
// filtered page, and its heap, at the largest size.
func (b *benchEnv) profiles(ctx context.Context, o options, stored int) error {
	srv := serverTarget{b.runs}
	err := b.profileWhile(ctx, o, "server-cpu-create.pb.gz", 16, func(ctx context.Context, i int) error {
		_, err := srv.create(ctx, crudNamespace, fmt.Sprintf("prof-%07d", i), crudExperiment(i))
		return err
	})
	if err != nil {
		return err
	}
	ns, experiment := b.dataNS[42%len(b.dataNS)], fmt.Sprintf("exp-%03d", 42%o.experiments)
	err = b.profileWhile(ctx, o, "server-cpu-filtered-list.pb.gz", 1, func(ctx context.Context, _ int) error {
		_, _, _, err := srv.list(ctx, ns, experiment, listLimit, "")
		return err
	})
	if err != nil {
		return err
	}
	// A get at concurrency 16 on each side, of the template run both hold: what a request
	// costs each process when the store's part is small.
	for _, t := range []apiTarget{srv, crdTarget{c: b.dyn}} {
		file := "server-cpu-get.pb.gz"
		if t.name() != targetServer {
			file = "server-cpu-get-crd.pb.gz"
		}
		if err := b.profileWhile(ctx, o, file, 16, func(ctx context.Context, _ int) error {
			return t.get(ctx, templateNamespace, templateName)
		}); err != nil {
			return err
		}
	}
	klog.InfoS("Profiles taken", "stored", stored, "dir", filepath.Join(o.outDir, "profiles"))
	return b.fetchProfile(ctx, "/debug/pprof/heap", filepath.Join(o.outDir, "profiles"), "server-heap.pb.gz")
}

// explain returns MySQL's plan of the floor's page queries, which are the engine's.
func (b *benchEnv) explain(ctx context.Context, o options) (string, error) {
	ns := b.dataNS[42%len(b.dataNS)]
	lo := serverKey(ns, "")
	hi := lo[:len(lo)-1] + "0"
	// The retention batch's read of an index range, as pkg/storage/mysql runs it.
	retentionQuery, err := mysqlstorage.IndexedRangeQuery(runregistry.Table, runregistry.AvailableSinceField)
	if err != nil {
		return "", err
	}
	newestQuery, err := mysqlstorage.OrderedListQuery(runregistry.Table, runregistry.NewestInNamespaceField)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, q := range []struct {
		name, text string
		args       []any
	}{
		{"page of a namespace", rawPageQuery, []any{[]byte(lo), []byte(hi), listLimit + 1}},
		{"page of one experiment", rawFilteredQuery, []any{[]byte(lo), []byte(hi), []byte(fmt.Sprintf("exp-%03d", 42%o.experiments)), listLimit + 1}},
		{"page of a namespace, newest first (the engine's statement)", newestQuery, []any{[]byte(ns + "/"), []byte(ns + "/"), []byte(""),
			[]byte(ns + "0"), []byte(lo), []byte(hi), int64(math.MaxInt64), listLimit + 1}},
		{"page of every namespace", rawPageQuery, []any{[]byte(strings.TrimSuffix(serverKey("", ""), "/")), []byte(strings.TrimSuffix(serverKey("", ""), "//") + "0"), listLimit + 1}},
		{"a batch of retention: a namespace's finished runs due for archiving", retentionQuery,
			[]any{[]byte(ns + "/"), []byte(runregistry.RetentionKey(ns, time.Now().Add(24*time.Hour))), []byte(lo[:len(lo)-len(ns)-1]),
				[]byte(lo[:len(lo)-len(ns)-2] + "0"), retentionBatch}},
	} {
		rows, err := b.db.QueryContext(ctx, "EXPLAIN "+q.text, q.args...)
		if err != nil {
			return "", fmt.Errorf("EXPLAIN %s: %w", q.name, err)
		}
		text, err := formatRows(rows)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&out, "%s:\n\n```\n%s\n%s```\n\n", q.name, q.text, text)
	}
	return out.String(), nil
}

func formatRows(rows *sql.Rows) (string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(strings.Join(cols, " | ") + "\n")
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = string(v)
			if v == nil {
				parts[i] = "NULL"
			}
		}
		b.WriteString(strings.Join(parts, " | ") + "\n")
	}
	return b.String(), rows.Err()
}

// since rounds a duration for logs.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
