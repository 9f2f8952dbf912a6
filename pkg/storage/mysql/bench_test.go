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

package mysql

// Benchmarks of the engine, each beside a raw-SQL baseline that does the same row
// operation with the same driver, on the same server, in the same run:
//
//	go test -run '^$' -bench . -benchtime=2s ./pkg/storage/mysql/
//
// Every benchmark has a "raw" and an "engine" sub-benchmark, run in that order. The
// engine's reports its own figures and "x-raw": its time per operation divided by the
// baseline's (for Create at concurrency 16, the baseline's throughput divided by the
// engine's). docs/storage.md records the figures and what they mean.
//
// The Upstream* benchmarks are Kubernetes' own storage benchmarks
// (k8s.io/apiserver/pkg/storage/testing), run on a small data set.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/apimachinery/pkg/api/apitesting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/apis/example"
	examplev1 "k8s.io/apiserver/pkg/apis/example/v1"
	"k8s.io/apiserver/pkg/storage"
	storagetesting "k8s.io/apiserver/pkg/storage/testing"
	"k8s.io/klog/v2"

	mysqltesting "github.com/pipelines-apiserver/pipelines-apiserver/pkg/storage/mysql/testing"
)

// benchConcurrency is how many writers the Create benchmark runs at once.
const benchConcurrency = 16

// rawTable holds the baselines' rows: a key, the indexed column and the object, with
// the same types and index as the engine's resource table.
const rawTableDDL = `CREATE TABLE raw_objects (
	k VARBINARY(1024) NOT NULL,
	node_name VARBINARY(253) NOT NULL DEFAULT '',
	value LONGBLOB NOT NULL,
	PRIMARY KEY (k),
	KEY raw_objects_node_name (node_name, k)
) ENGINE=InnoDB`

// rawLogDDL is the baselines' change log for the watch benchmarks.
const rawLogDDL = `CREATE TABLE raw_log (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	k VARBINARY(1024) NOT NULL,
	value LONGBLOB NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB`

// benchEnv is one database with a Backend and its pod store, and a raw pool configured
// as the Backend configures its own.
type benchEnv struct {
	dsn   string
	b     *Backend
	s     *store
	raw   *sql.DB
	codec kruntime.Codec
}

var quietLogs sync.Once

func skipUnlessBenchmarking(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmarks need a MariaDB server; skipped in -short mode")
	}
	// The engine logs at start-up; in the middle of a benchmark's result line that
	// breaks benchstat's parsing.
	quietLogs.Do(func() {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	})
}

func newBenchEnv(b *testing.B, load func(*benchEnv)) *benchEnv {
	b.Helper()
	skipUnlessBenchmarking(b)
	dsn := mysqltesting.SharedServer(b).NewDatabase(b)
	env := &benchEnv{dsn: dsn, codec: apitesting.TestCodec(codecs, examplev1.SchemeGroupVersion)}
	env.raw = rawPool(b, dsn)
	for _, ddl := range []string{rawTableDDL, rawLogDDL} {
		if _, err := env.raw.Exec(ddl); err != nil {
			b.Fatal(err)
		}
	}
	if load != nil {
		// Tables first, then the rows behind the engine's back, then the Backend that
		// serves them: its tail starts after the loaded revisions instead of reading them.
		first := benchBackend(b, dsn, 0)
		newBenchStore(b, first, env.codec)
		if err := first.Close(); err != nil {
			b.Fatal(err)
		}
		load(env)
	}
	env.b = benchBackend(b, dsn, 0)
	env.s = newBenchStore(b, env.b, env.codec)
	return env
}

// benchBackend opens a Backend with the production defaults, except the poll interval when set.
func benchBackend(b *testing.B, dsn string, poll time.Duration) *Backend {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	be, err := NewBackend(ctx, Config{DSN: dsn, PollInterval: poll, Tables: []Table{podsTable}})
	if err != nil {
		b.Fatalf("NewBackend: %v", err)
	}
	b.Cleanup(func() { _ = be.Close() })
	return be
}

func newBenchStore(b *testing.B, be *Backend, codec kruntime.Codec) *store {
	b.Helper()
	s, err := be.NewStore(context.Background(), StoreOptions{
		Codec:          codec,
		ResourcePrefix: "/pods/",
		NewFunc:        func() kruntime.Object { return &example.Pod{} },
		NewListFunc:    func() kruntime.Object { return &example.PodList{} },
		GetAttrs:       podAttrs,
	})
	if err != nil {
		b.Fatalf("NewStore: %v", err)
	}
	return s.(*store)
}

// rawPool opens a pool as NewBackend opens its own: same driver, binary protocol with
// prepared statements, same pool size.
func rawPool(b *testing.B, dsn string) *sql.DB {
	b.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.InterpolateParams = false
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(connector)
	var defaults Config
	defaults.Complete()
	db.SetMaxOpenConns(defaults.MaxOpenConns)
	db.SetMaxIdleConns(defaults.MaxIdleConns)
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func (env *benchEnv) prepare(b *testing.B, query string) *sql.Stmt {
	b.Helper()
	st, err := env.raw.Prepare(query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// benchPod is a pod of a realistic size for this project's objects: labels, an
// annotation, a few spec fields; about 600 bytes of JSON.
func benchPod(ns, name, node string) *example.Pod {
	return &example.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: "6f1c5b0e-2d55-4c1e-9b51-0123456789ab",
			Labels:      map[string]string{"app.kubernetes.io/name": "pipeline-run", "pipelines.kubeflow.org/experiment": "nightly-training"},
			Annotations: map[string]string{"pipelines.kubeflow.org/run-description": strings.Repeat("A scheduled training run. ", 8)},
		},
		Spec: example.PodSpec{
			NodeName:           node,
			ServiceAccountName: "pipeline-runner",
			SchedulerName:      "default-scheduler",
			NodeSelector:       map[string]string{"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
			Hostname:           "trainer-" + strings.Repeat("0", 16),
		},
	}
}

func (env *benchEnv) encode(b *testing.B, p *example.Pod) []byte {
	b.Helper()
	data, err := kruntime.Encode(env.codec, p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// baselines holds the last raw result of each benchmark, for its engine sub-benchmark.
var baselines sync.Map // benchmark name -> float64 ns/op

func nsPerOp(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

// runPair runs the raw baseline, then the engine, and reports the engine's time per
// operation against the baseline's.
func runPair(b *testing.B, raw, engine func(b *testing.B)) {
	b.Run("raw", func(b *testing.B) {
		raw(b)
		baselines.Store(parentName(b), nsPerOp(b))
	})
	b.Run("engine", func(b *testing.B) {
		engine(b)
		reportVsRaw(b, nsPerOp(b))
	})
}

func parentName(b *testing.B) string { return b.Name()[:strings.LastIndex(b.Name(), "/")] }

func reportVsRaw(b *testing.B, engineNs float64) {
	if raw, ok := baselines.Load(parentName(b)); ok {
		b.ReportMetric(raw.(float64), "raw-ns/op")
		b.ReportMetric(engineNs/raw.(float64), "x-raw")
	}
}

// reportVsEngineSQL reports against both baselines.
func reportVsEngineSQL(b *testing.B, engineNs float64) {
	reportVsRaw(b, engineNs)
	if raw, ok := baselines.Load(parentName(b) + "/engine-sql"); ok {
		b.ReportMetric(engineNs/raw.(float64), "x-raw-engine-sql")
	}
}

// BenchmarkCreate creates new objects from 16 goroutines at once; the baseline inserts
// the same bytes into a table of the same shape with one INSERT. A second baseline,
// "raw-engine-sql", runs the statements the engine runs for one create alone, in raw
// SQL: the transaction that inserts the row, appends to the change log and stamps the
// row with its revision. The engine group-commits creates that arrive while others are
// being written (batch.go), which that baseline does not.
func BenchmarkCreate(b *testing.B) {
	env := newBenchEnv(b, nil)
	esql := env.engineSQL(b)
	insert := env.prepare(b, "INSERT INTO raw_objects (k, node_name, value) VALUES (?, ?, ?)")
	value := env.encode(b, benchPod("ns", "template", "node-0"))
	var n atomic.Int64
	parallelism := (benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, err := insert.ExecContext(ctx, []byte(fmt.Sprintf("/pods/raw/p-%d", i)), []byte("node-0"), value); err != nil {
					b.Error(err)
					return
				}
			}
		})
		baselines.Store(parentName(b), nsPerOp(b))
	})
	b.Run("raw-engine-sql", func(b *testing.B) {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := esql.create(ctx, fmt.Sprintf("/pods/raw-tx/p-%d", n.Add(1)), value); err != nil {
					b.Error(err)
					return
				}
			}
		})
		baselines.Store(parentName(b)+"/engine-sql", nsPerOp(b))
	})
	b.Run("engine", func(b *testing.B) {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			out := &example.Pod{}
			for pb.Next() {
				name := "p-" + strconv.FormatInt(n.Add(1), 10)
				if err := env.s.Create(ctx, "/pods/ns/"+name, benchPod("ns", name, "node-0"), out, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportVsEngineSQL(b, nsPerOp(b))
	})
}

// engineSQL runs the statements the engine runs for a write, in raw SQL on copies of
// its tables (so that the engine's tail neither reads these rows nor fills the revisions
// they hold before they land), without the engine's encoding, checks and change-log tail.
type engineSQL struct {
	db                                           *sql.DB
	get, insertRow, insertLog, stampRow, moveRow *sql.Stmt
}

func (env *benchEnv) engineSQL(b *testing.B) *engineSQL {
	b.Helper()
	for _, ddl := range []string{"CREATE TABLE raw_pods LIKE pods", "CREATE TABLE raw_changelog LIKE " + logTable} {
		if _, err := env.raw.Exec(ddl); err != nil {
			b.Fatal(err)
		}
	}
	return &engineSQL{
		db:        env.raw,
		get:       env.prepare(b, "SELECT r.revision, l.value FROM raw_pods r JOIN raw_changelog l ON l.id = r.revision WHERE r.k = ?"),
		insertRow: env.prepare(b, "INSERT INTO raw_pods (k, revision, expires_at, node_name) VALUES (?, 0, NULL, ?)"),
		insertLog: env.prepare(b, "INSERT INTO raw_changelog (k, created, deleted, prev_revision, value) VALUES (?, ?, 0, ?, ?)"),
		stampRow:  env.prepare(b, "UPDATE raw_pods SET revision = ? WHERE k = ?"),
		moveRow:   env.prepare(b, "UPDATE raw_pods SET revision = ?, expires_at = NULL, node_name = ? WHERE k = ? AND revision = ?"),
	}
}

// create is the engine's create transaction: insert the row, append to the log, stamp
// the row with the log's id.
func (e *engineSQL) create(ctx context.Context, key string, value []byte) (int64, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.StmtContext(ctx, e.insertRow).ExecContext(ctx, []byte(key), []byte("node-0")); err != nil {
		return 0, err
	}
	res, err := tx.StmtContext(ctx, e.insertLog).ExecContext(ctx, []byte(key), true, 0, value)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if _, err := tx.StmtContext(ctx, e.stampRow).ExecContext(ctx, id, []byte(key)); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// update is the engine's read and update transaction: read the row and its value,
// append to the log, move the row to the new revision if it is still at the one read.
func (e *engineSQL) update(ctx context.Context, key, node string, value []byte) error {
	var (
		rev int64
		old []byte
	)
	if err := e.get.QueryRowContext(ctx, []byte(key)).Scan(&rev, &old); err != nil {
		return err
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.StmtContext(ctx, e.insertLog).ExecContext(ctx, []byte(key), false, rev, value)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, e.moveRow).ExecContext(ctx, id, []byte(node), []byte(key), rev); err != nil {
		return err
	}
	return tx.Commit()
}

const benchKeys = 1000

// seedKeys creates benchKeys objects through the engine and the same rows in the raw table.
func (env *benchEnv) seedKeys(b *testing.B, esql *engineSQL) []string {
	b.Helper()
	ctx := context.Background()
	insert := env.prepare(b, "INSERT INTO raw_objects (k, node_name, value) VALUES (?, ?, ?)")
	keys := make([]string, benchKeys)
	for i := range keys {
		name := fmt.Sprintf("p-%04d", i)
		keys[i] = "/pods/ns/" + name
		p := benchPod("ns", name, "node-0")
		if err := env.s.Create(ctx, keys[i], p, &example.Pod{}, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := insert.Exec([]byte(keys[i]), []byte("node-0"), env.encode(b, p)); err != nil {
			b.Fatal(err)
		}
		if esql != nil {
			if _, err := esql.create(ctx, keys[i], env.encode(b, p)); err != nil {
				b.Fatal(err)
			}
		}
	}
	return keys
}

// BenchmarkGet reads one object by key; the baseline reads the row's value by its
// primary key. The engine also decodes the object, or copies the one it keeps decoded
// (decoded.go): the objects were created through it, so every read here is such a copy.
func BenchmarkGet(b *testing.B) {
	env := newBenchEnv(b, nil)
	keys := env.seedKeys(b, nil)
	get := env.prepare(b, "SELECT value FROM raw_objects WHERE k = ?")
	ctx := context.Background()
	runPair(b, func(b *testing.B) {
		var value []byte
		for i := range b.N {
			if err := get.QueryRowContext(ctx, []byte(keys[i%len(keys)])).Scan(&value); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B) {
		out := &example.Pod{}
		for i := range b.N {
			if err := env.s.Get(ctx, keys[i%len(keys)], storage.GetOptions{}, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGuaranteedUpdate changes one object; the baseline updates the row's value
// with one UPDATE. The engine reads the object, decodes it, applies the change, encodes
// it and writes it under its revision; "raw-engine-sql" runs that read and write
// transaction in raw SQL.
func BenchmarkGuaranteedUpdate(b *testing.B) {
	env := newBenchEnv(b, nil)
	esql := env.engineSQL(b)
	keys := env.seedKeys(b, esql)
	values := [][]byte{
		env.encode(b, benchPod("ns", "template", "node-1")),
		env.encode(b, benchPod("ns", "template", "node-2")),
	}
	update := env.prepare(b, "UPDATE raw_objects SET node_name = ?, value = ? WHERE k = ?")
	ctx := context.Background()
	// Every update changes the row, as the engine's do.
	state := make([]int, len(keys))
	b.Run("raw", func(b *testing.B) {
		for i := range b.N {
			k := i % len(keys)
			state[k] ^= 1
			if _, err := update.ExecContext(ctx, []byte("node-"+strconv.Itoa(state[k]+1)), values[state[k]], []byte(keys[k])); err != nil {
				b.Fatal(err)
			}
		}
		baselines.Store(parentName(b), nsPerOp(b))
	})
	b.Run("raw-engine-sql", func(b *testing.B) {
		for i := range b.N {
			k := i % len(keys)
			state[k] ^= 1
			if err := esql.update(ctx, keys[k], "node-"+strconv.Itoa(state[k]+1), values[state[k]]); err != nil {
				b.Fatal(err)
			}
		}
		baselines.Store(parentName(b)+"/engine-sql", nsPerOp(b))
	})
	b.Run("engine", func(b *testing.B) {
		out := &example.Pod{}
		tryUpdate := func(in kruntime.Object, _ storage.ResponseMeta) (kruntime.Object, *uint64, error) {
			p := in.(*example.Pod)
			if p.Spec.NodeName == "node-1" {
				p.Spec.NodeName = "node-2"
			} else {
				p.Spec.NodeName = "node-1"
			}
			return p, nil, nil
		}
		for i := range b.N {
			if err := env.s.GuaranteedUpdate(ctx, keys[i%len(keys)], out, false, nil, tryUpdate, nil); err != nil {
				b.Fatal(err)
			}
		}
		reportVsEngineSQL(b, nsPerOp(b))
	})
}

// List fixtures: a namespace of listNamespaceSize objects among unrelated ones, half in
// namespaces that sort before it and half after, all on the same listNodes nodes.
const (
	listNamespace     = "ns-target"
	listNamespaceSize = 1000
	listNodes         = 5
	listPage          = 100
	loadBatch         = 500
)

// loadRows writes total objects straight into the engine's tables (the change log and
// the pods table, as Create would leave them) and into the raw table, in multi-row
// INSERTs inside one transaction.
func loadRows(b *testing.B, total int) func(*benchEnv) {
	return func(env *benchEnv) {
		b.Helper()
		start := time.Now()
		ctx := context.Background()
		var maxRev int64
		if err := env.raw.QueryRow("SELECT COALESCE(MAX(id), 0) FROM " + logTable).Scan(&maxRev); err != nil {
			b.Fatal(err)
		}
		tx, err := env.raw.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		type row struct {
			key, node string
			value     []byte
		}
		var batch []row
		flush := func() {
			if len(batch) == 0 {
				return
			}
			var logArgs, podArgs, rawArgs []any
			for _, r := range batch {
				maxRev++
				logArgs = append(logArgs, maxRev, []byte(r.key), r.value)
				podArgs = append(podArgs, []byte(r.key), maxRev, []byte(r.node))
				rawArgs = append(rawArgs, []byte(r.key), []byte(r.node), r.value)
			}
			values := func(tuple string) string {
				return strings.TrimSuffix(strings.Repeat(tuple+", ", len(batch)), ", ")
			}
			for _, q := range []struct {
				text string
				args []any
			}{
				{"INSERT INTO " + logTable + " (id, k, created, deleted, prev_revision, value) VALUES " + values("(?, ?, 1, 0, 0, ?)"), logArgs},
				{"INSERT INTO pods (k, revision, expires_at, node_name) VALUES " + values("(?, ?, NULL, ?)"), podArgs},
				{"INSERT INTO raw_objects (k, node_name, value) VALUES " + values("(?, ?, ?)"), rawArgs},
			} {
				if _, err := tx.ExecContext(ctx, q.text, q.args...); err != nil {
					b.Fatal(err)
				}
			}
			batch = batch[:0]
		}
		add := func(ns, name string, i int) {
			node := "node-" + strconv.Itoa(i%listNodes)
			p := benchPod(ns, name, node)
			batch = append(batch, row{key: "/pods/" + ns + "/" + name, node: node, value: env.encode(b, p)})
			if len(batch) == loadBatch {
				flush()
			}
		}
		unrelated := total - listNamespaceSize
		for i := range unrelated / 2 {
			add(fmt.Sprintf("a-unrelated-%03d", i%100), fmt.Sprintf("p-%06d", i), i)
		}
		for i := range listNamespaceSize {
			add(listNamespace, fmt.Sprintf("p-%06d", i), i)
		}
		for i := range unrelated - unrelated/2 {
			add(fmt.Sprintf("z-unrelated-%03d", i%100), fmt.Sprintf("p-%06d", i), i)
		}
		flush()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d objects in %v", total, time.Since(start).Round(time.Millisecond))
	}
}

// BenchmarkListPage reads the first 100 objects of one namespace of 1000, among 10k and
// 100k objects in all, with and without a field selector on the indexed spec.nodeName.
// The baseline reads the same 100 rows (101, to know whether there are more) in key
// order from the same kind of index. The engine also reads the current revision,
// counts the remaining items when it can, and decodes the objects.
func BenchmarkListPage(b *testing.B) {
	skipUnlessBenchmarking(b)
	for _, total := range []int{10_000, 100_000} {
		env := newBenchEnv(b, loadRows(b, total))
		lo, hi := "/pods/"+listNamespace+"/", prefixEnd("/pods/"+listNamespace+"/")
		page := env.prepare(b, "SELECT k, value FROM raw_objects WHERE k >= ? AND k < ? ORDER BY k LIMIT ?")
		pageByNode := env.prepare(b, "SELECT k, value FROM raw_objects WHERE node_name = ? AND k >= ? AND k < ? ORDER BY k LIMIT ?")
		for _, selector := range []string{"", "node-3"} {
			name := fmt.Sprintf("objects=%dk/selector=%s", total/1000, map[bool]string{true: "none", false: "spec.nodeName"}[selector == ""])
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				runPair(b, func(b *testing.B) {
					for range b.N {
						var rows *sql.Rows
						var err error
						if selector == "" {
							rows, err = page.QueryContext(ctx, []byte(lo), []byte(hi), listPage+1)
						} else {
							rows, err = pageByNode.QueryContext(ctx, []byte(selector), []byte(lo), []byte(hi), listPage+1)
						}
						if err != nil {
							b.Fatal(err)
						}
						n := 0
						for rows.Next() {
							var k, v []byte
							if err := rows.Scan(&k, &v); err != nil {
								b.Fatal(err)
							}
							n++
						}
						if err := rows.Close(); err != nil || n != listPage+1 {
							b.Fatalf("raw page: %d rows, %v", n, err)
						}
					}
				}, func(b *testing.B) {
					pred := storage.Everything
					if selector != "" {
						pred = storage.SelectionPredicate{Label: labels.Everything(), Field: fields.OneTermEqualSelector("spec.nodeName", selector), GetAttrs: podAttrs}
					}
					pred.Limit = listPage
					for range b.N {
						out := &example.PodList{}
						if err := env.s.GetList(ctx, "/pods/"+listNamespace+"/", storage.ListOptions{Recursive: true, Predicate: pred}, out); err != nil {
							b.Fatal(err)
						}
						if len(out.Items) != listPage || out.Continue == "" {
							b.Fatalf("engine page: %d items, continue %q", len(out.Items), out.Continue)
						}
					}
				})
			})
		}
	}
}

// latencies collects delivery latencies and reports their percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (l *latencies) report(b *testing.B) (p50, p99 float64) {
	p50 = float64(l.percentile(0.50).Microseconds()) / 1000
	p99 = float64(l.percentile(0.99).Microseconds()) / 1000
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	return p50, p99
}

// watchBaseline is the raw equivalent of the tail: a reader of raw_log that wakes on a
// local write or on a timer, and hands each new row to whoever waits for its key.
type watchBaseline struct {
	env    *benchEnv
	wake   chan struct{}
	waitMu sync.Mutex
	wait   map[string]chan time.Time
}

func (w *watchBaseline) run(ctx context.Context, b *testing.B, poll time.Duration) {
	read, err := w.env.raw.Prepare("SELECT id, k, value FROM raw_log WHERE id > ? ORDER BY id LIMIT 1000")
	if err != nil {
		b.Error(err)
		return
	}
	defer read.Close()
	var pos int64
	if err := w.env.raw.QueryRow("SELECT COALESCE(MAX(id), 0) FROM raw_log").Scan(&pos); err != nil {
		b.Error(err)
		return
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-ticker.C:
		}
		rows, err := read.QueryContext(ctx, pos)
		if err != nil {
			if ctx.Err() == nil {
				b.Error(err)
			}
			return
		}
		for rows.Next() {
			var k, v []byte
			if err := rows.Scan(&pos, &k, &v); err != nil {
				b.Error(err)
				return
			}
			w.waitMu.Lock()
			ch := w.wait[string(k)]
			w.waitMu.Unlock()
			if ch != nil {
				ch <- time.Now()
			}
		}
		_ = rows.Close()
	}
}

// unsyncFromPoll waits a random part of the poll interval, off the clock. Writes made
// one after another, each right after the previous one was seen, would otherwise all
// land just after a poll and wait a whole interval.
func unsyncFromPoll(b *testing.B, poll time.Duration) {
	b.StopTimer()
	time.Sleep(rand.N(poll))
	b.StartTimer()
}

// BenchmarkWatchLatency measures the time from the start of a write to the moment a
// watcher holds its event, one write at a time: on the Backend that wrote
// ("local", woken by its own commit) and on another Backend that learns of it by polling
// ("remote", the default 100ms poll interval). The baseline writes a row to a log table
// with one INSERT and reads it back with one SELECT, woken the same way.
func BenchmarkWatchLatency(b *testing.B) {
	env := newBenchEnv(b, nil)
	remote := benchBackend(b, env.dsn, 0)
	remoteStore := newBenchStore(b, remote, env.codec)
	value := env.encode(b, benchPod("ns", "template", "node-0"))
	insert := env.prepare(b, "INSERT INTO raw_log (k, value) VALUES (?, ?)")
	var defaults Config
	defaults.Complete()
	var n atomic.Int64

	for _, where := range []string{"local", "remote"} {
		b.Run(where, func(b *testing.B) {
			runPair(b, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				base := &watchBaseline{env: env, wake: make(chan struct{}, 1), wait: map[string]chan time.Time{}}
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					base.run(ctx, b, defaults.PollInterval)
				}()
				defer func() { cancel(); wg.Wait() }()
				time.Sleep(10 * time.Millisecond) // let the reader find its position
				var lat latencies
				b.ResetTimer()
				for range b.N {
					if where == "remote" {
						unsyncFromPoll(b, defaults.PollInterval)
					}
					key := "/raw/" + strconv.FormatInt(n.Add(1), 10)
					got := make(chan time.Time, 1)
					base.waitMu.Lock()
					base.wait[key] = got
					base.waitMu.Unlock()
					start := time.Now()
					if _, err := insert.ExecContext(ctx, []byte(key), value); err != nil {
						b.Fatal(err)
					}
					if where == "local" {
						select {
						case base.wake <- struct{}{}:
						default:
						}
					}
					select {
					case at := <-got:
						lat.add(at.Sub(start))
					case <-time.After(10 * time.Second):
						b.Fatalf("the baseline reader never saw %s", key)
					}
					base.waitMu.Lock()
					delete(base.wait, key)
					base.waitMu.Unlock()
				}
				b.StopTimer()
				p50, p99 := lat.report(b)
				baselines.Store(parentName(b)+"/p50", p50)
				baselines.Store(parentName(b)+"/p99", p99)
			}, func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				writer := env.s
				if where == "remote" {
					writer = remoteStore
				}
				rev, err := env.b.CurrentRevision(ctx)
				if err != nil {
					b.Fatal(err)
				}
				w, err := env.s.Watch(ctx, "/pods/", storage.ListOptions{ResourceVersion: strconv.FormatInt(rev, 10), Recursive: true, Predicate: storage.Everything})
				if err != nil {
					b.Fatal(err)
				}
				defer w.Stop()
				var lat latencies
				out := &example.Pod{}
				b.ResetTimer()
				for range b.N {
					if where == "remote" {
						unsyncFromPoll(b, defaults.PollInterval)
					}
					name := "w-" + strconv.FormatInt(n.Add(1), 10)
					start := time.Now()
					if err := writer.Create(ctx, "/pods/ns/"+name, benchPod("ns", name, "node-0"), out, 0); err != nil {
						b.Fatal(err)
					}
					for {
						var ev watch.Event
						select {
						case ev = <-w.ResultChan():
						case <-time.After(10 * time.Second):
							b.Fatalf("no event for %s", name)
						}
						if ev.Type == watch.Error {
							b.Fatalf("watch error: %v", ev.Object)
						}
						if p, ok := ev.Object.(*example.Pod); ok && p.Name == name {
							lat.add(time.Since(start))
							break
						}
					}
				}
				b.StopTimer()
				p50, p99 := lat.report(b)
				if raw, ok := baselines.Load(parentName(b) + "/p50"); ok {
					b.ReportMetric(p50/raw.(float64), "x-raw-p50")
				}
				if raw, ok := baselines.Load(parentName(b) + "/p99"); ok {
					b.ReportMetric(p99/raw.(float64), "x-raw-p99")
				}
			})
		})
	}
}

// upstreamData is a small version of the data sets Kubernetes' storage benchmarks use
// on etcd (50 namespaces of 3000 pods), so that all of them fit in a few minutes here.
func upstreamData() storagetesting.BenchmarkData {
	return storagetesting.PrepareBenchmarkData(5, 100, 50)
}

func upstreamStore(b *testing.B) (context.Context, *store) {
	b.Helper()
	skipUnlessBenchmarking(b)
	env := newBenchEnv(b, nil)
	return context.Background(), env.s
}

func BenchmarkUpstreamWriteThroughput(b *testing.B) {
	ctx, s := upstreamStore(b)
	storagetesting.RunBenchmarkWriteThroughput(ctx, b, s, upstreamData(), false, nil)
}

func BenchmarkUpstreamStoreList(b *testing.B) {
	ctx, s := upstreamStore(b)
	data := upstreamData()
	if err := storagetesting.PrecreateBenchmarkPods(ctx, s, data); err != nil {
		b.Fatal(err)
	}
	storagetesting.RunBenchmarkStoreList(ctx, b, s, data, false)
}

func BenchmarkUpstreamStoreStats(b *testing.B) {
	ctx, s := upstreamStore(b)
	if err := storagetesting.PrecreateBenchmarkPods(ctx, s, upstreamData()); err != nil {
		b.Fatal(err)
	}
	storagetesting.RunBenchmarkStoreStats(ctx, b, s)
}
