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

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/klog/v2"
)

// Backend is one process's connection to the database: the pool, the single change-log
// tail that feeds every watch, and the compactor. Every resource store of the process
// shares it.
type Backend struct {
	cfg    Config
	db     *sql.DB
	d      *dialect
	tail   *tail
	tables map[string]Table // by resource prefix

	runCtx context.Context // ends at Close; background loops run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	compactMu  sync.Mutex
	compactRev int64 // highest compaction revision this process has seen

	// watchPageBytes bounds one page of history or initial state that a watch reads
	// (watchPageBytes in production; tests make it small to exercise paging).
	watchPageBytes int64
	// watchPages holds a token for each page a watch is reading: at most half the pool,
	// so that watches catching up together leave connections to writes, gets and /readyz.
	watchPages chan struct{}

	// logIDStep is the distance between the ids of one multi-row insert's rows when the
	// server hands them out consecutively; 0 when it may not (see batchRevisions).
	logIDStep int64

	// snapshotIsolation is what a read transaction asks for: the connections' default
	// when that is already REPEATABLE READ, which saves a statement per transaction.
	snapshotIsolation sql.IsolationLevel

	// decoded holds the objects every store of this backend decoded lately (decoded.go):
	// one budget, so the resources read most get the room.
	decoded *decodedObjects
}

// snapshotIsolationFor is sql.LevelDefault when the database's sessions already run at
// REPEATABLE READ (InnoDB's default), so that a read transaction is one START
// TRANSACTION; otherwise REPEATABLE READ, which the driver sets before each.
func snapshotIsolationFor(ctx context.Context, db *sql.DB) sql.IsolationLevel {
	// transaction_isolation in MySQL 8 and MariaDB 11.1+, tx_isolation before.
	for _, v := range []string{"@@SESSION.transaction_isolation", "@@SESSION.tx_isolation"} {
		var level string
		if err := db.QueryRowContext(ctx, "SELECT "+v).Scan(&level); err == nil {
			if level == "REPEATABLE-READ" {
				return sql.LevelDefault
			}
			break
		}
	}
	return sql.LevelRepeatableRead
}

// autoIncrementStep is the step between the AUTO_INCREMENT ids of one multi-row INSERT,
// or 0 if they may not be evenly spaced. InnoDB spaces them evenly, by
// auto_increment_increment (a Galera cluster's size, say), in its "traditional" and
// "consecutive" lock modes (0 and 1; MariaDB's default is 1); in "interleaved" mode (2,
// MySQL 8's default), and on servers without the setting, other inserts' ids may come
// between.
func autoIncrementStep(ctx context.Context, d *dialect) int64 {
	var mode, step int64
	if err := d.queryRow(ctx, nil, stmtAutoIncrement, nil, &mode, &step); err != nil || mode > 1 || step < 1 {
		klog.V(2).InfoS("Change-log ids of batched creates are read back", "lockMode", mode, "step", step, "err", err)
		return 0
	}
	return step
}

// NewBackend connects, applies migrations, establishes the change-log tail's position
// and starts the tail and the compactor.
func NewBackend(ctx context.Context, cfg Config) (*Backend, error) {
	cfg.Complete()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dsn, err := mysql.ParseDSN(cfg.DSN) // Validate has checked it
	if err != nil {
		return nil, errors.New("invalid MySQL DSN")
	}
	if dsn.Timeout == 0 {
		dsn.Timeout = 5 * time.Second
	}
	// Forced rather than refused, as they change only how statements travel: each is
	// prepared once per connection, and values go as binary arguments.
	dsn.InterpolateParams = false
	dsn.MultiStatements = false
	connector, err := mysql.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("configuring the MySQL driver: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)

	b := &Backend{cfg: cfg, db: db, d: newDialect(db), tables: map[string]Table{}, watchPageBytes: watchPageBytes,
		watchPages: make(chan struct{}, max(cfg.MaxOpenConns/2, 1)), decoded: newDecodedObjects(cfg.DecodedCacheBytes)}
	for _, t := range cfg.Tables {
		b.tables[strings.TrimSuffix(t.ResourcePrefix, "/")] = t
	}
	if err := migrate(ctx, b.d); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := ensureTable(ctx, b.d, Table{Name: DefaultTable}); err != nil {
		db.Close()
		return nil, err
	}
	b.logIDStep = autoIncrementStep(ctx, b.d)
	b.snapshotIsolation = snapshotIsolationFor(ctx, db)
	b.tail = newTail(b, cfg.PollInterval)
	if err := b.tail.establish(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reading the change log: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.runCtx, b.cancel = runCtx, cancel
	b.start(runCtx, "tail", b.tail.run)
	b.start(runCtx, "bookmarks", b.tail.bookmarkLoop(cfg.BookmarkInterval))
	if cfg.CompactionInterval > 0 {
		b.start(runCtx, "compactor", b.compactLoop)
	}
	return b, nil
}

func (b *Backend) start(ctx context.Context, name string, fn func(context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		klog.V(2).InfoS("Starting storage loop", "loop", name)
		fn(ctx)
	}()
}

func (b *Backend) runContext() context.Context { return b.runCtx }

// Close stops the background loops, ends every watch and closes the pool.
func (b *Backend) Close() error {
	b.cancel()
	b.wg.Wait()
	b.tail.closeAll()
	b.d.close()
	return b.db.Close()
}

// ReadinessCheck reports whether the database answers and the tail is keeping up.
func (b *Backend) ReadinessCheck() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var one int
	if err := b.d.queryRow(ctx, nil, stmtPing, nil, &one); err != nil {
		return fmt.Errorf("database is not reachable: %w", err)
	}
	return b.tail.healthy()
}

// CurrentRevision returns a revision such that every write acknowledged before the call
// is at or below it, and every revision at or below it is known to this process. It
// waits for the tail to resolve transactions still in flight below the newest commit.
func (b *Backend) CurrentRevision(ctx context.Context) (int64, error) {
	var maxRev int64
	if err := b.d.queryRow(ctx, nil, stmtMaxRevision, nil, &maxRev); err != nil {
		return 0, err
	}
	if err := b.tail.waitFor(ctx, maxRev); err != nil {
		return 0, err
	}
	return b.tail.resolvedRevision(), nil
}

// compactRevision reads the compaction revision shared by all replicas.
func (b *Backend) compactRevision(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rev int64
	if err := b.d.queryRow(ctx, tx, stmtCompactRev, nil, &rev); err != nil {
		return 0, err
	}
	b.observeCompaction(rev)
	return rev, nil
}

func (b *Backend) observeCompaction(rev int64) {
	b.compactMu.Lock()
	defer b.compactMu.Unlock()
	if rev > b.compactRev {
		b.compactRev = rev
		compactedRevision.Set(float64(rev))
	}
}

// CompactRevision is the newest compaction this process has observed.
func (b *Backend) CompactRevision() int64 {
	b.compactMu.Lock()
	defer b.compactMu.Unlock()
	return b.compactRev
}

// snapshot runs fn in a read-only transaction that sees one consistent state.
func (b *Backend) snapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, &sql.TxOptions{Isolation: b.snapshotIsolation, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("starting a read transaction: %w", translate(err))
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
