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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"k8s.io/klog/v2"
)

// The engine's own tables. Resource tables are named by Config.Tables.
const (
	logTable        = "changelog"
	metaTable       = "storage_meta"
	migrationsTable = "schema_migrations"
)

// statement is one SQL text with a name used in metrics and logs. Every statement the
// engine runs is a statement value: table and column names are spliced in from
// configuration checked by Config.Validate, request data only ever travels as arguments.
type statement struct {
	name string
	text string
}

// maxRevision reads the change log's newest revision.
const maxRevision = "SELECT COALESCE(MAX(id), 0) FROM " + logTable

// Fixed statements on the change log and the metadata table.
var (
	stmtMaxRevision = statement{"max_revision", maxRevision}
	// InnoDB's estimate of a table's rows (from its statistics, without reading the table).
	stmtTableRows  = statement{"table_rows", "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"}
	stmtCompactRev = statement{"get_compact_revision", "SELECT value FROM " + metaTable + " WHERE name = 'compact_revision'"}
	stmtInsertLog  = statement{"insert_log",
		"INSERT INTO " + logTable + " (k, created, deleted, prev_revision, value) VALUES (?, ?, ?, ?, ?)"}
	// A filler row takes the id of a transaction that rolled back, so the tail can move on.
	stmtFillGap = statement{"fill_gap",
		"INSERT INTO " + logTable + " (id, k, created, deleted, prev_revision, value) VALUES (?, '', 0, 0, 0, NULL)"}
	stmtTail = statement{"tail",
		"SELECT l.id, l.k, l.created, l.deleted, l.value, p.value FROM " + logTable + " l LEFT JOIN " + logTable +
			" p ON p.id = l.prev_revision WHERE l.id > ? ORDER BY l.id LIMIT ?"}
	stmtTailIDs = statement{"tail_ids", "SELECT id FROM " + logTable + " WHERE id > ? ORDER BY id LIMIT ?"}
	stmtReplay  = statement{"replay",
		"SELECT l.id, l.k, l.created, l.deleted, l.value, p.value FROM " + logTable + " l LEFT JOIN " + logTable +
			" p ON p.id = l.prev_revision WHERE l.id > ? AND l.id <= ? AND l.k >= ? AND l.k < ? ORDER BY l.id LIMIT ?"}
	stmtChangesAfter = statement{"changes_after",
		"SELECT k, prev_revision FROM " + logTable + " WHERE id > ? AND k >= ? AND k < ? ORDER BY id"}
	stmtLogValue = statement{"log_value", "SELECT value FROM " + logTable + " WHERE id = ?"}
	// The ids a batch of creates was handed, found by key among the rows from its first id on.
	stmtLogIDs     = statement{"log_ids", "SELECT id, k FROM " + logTable + " WHERE id >= ? ORDER BY id LIMIT ?"}
	stmtSetCompact = statement{"set_compact_revision",
		"UPDATE " + metaTable + " SET value = GREATEST(value, ?) WHERE name = 'compact_revision'"}
	// A write whose successful commit proves that every commit visible before it is durable.
	stmtBarrier = statement{"durability_barrier",
		"INSERT INTO " + metaTable + " (name, value) VALUES (?, 1) ON DUPLICATE KEY UPDATE value = value + 1"}
	stmtGetMeta = statement{"get_meta", "SELECT value FROM " + metaTable + " WHERE name = ?"}
	stmtSetMeta = statement{"set_meta",
		"INSERT INTO " + metaTable + " (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = GREATEST(value, VALUES(value))"}
	// Rows superseded by a later row that is itself older than the compaction revision.
	stmtCompactSuperseded = statement{"compact_superseded",
		"DELETE p FROM " + logTable + " n JOIN " + logTable + " p ON p.id = n.prev_revision WHERE n.id >= ? AND n.id < ?"}
	// Tombstones and fillers older than the compaction revision.
	stmtCompactTombstones = statement{"compact_tombstones",
		"DELETE FROM " + logTable + " WHERE id >= ? AND id < ? AND (deleted = 1 OR k = '')"}
	stmtGetLock     = statement{"get_lock", "SELECT GET_LOCK(?, ?)"}
	stmtReleaseLock = statement{"release_lock", "SELECT RELEASE_LOCK(?)"}
	stmtPing        = statement{"ping", "SELECT 1"}
	// How the server hands out AUTO_INCREMENT ids; see autoIncrementStep.
	stmtAutoIncrement = statement{"auto_increment", "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment"}
)

// tableStatements are the statements on one resource table.
type tableStatements struct {
	insert, setRevision, update, delete, get, count, statsSample, expired statement
	// listFrom is completed by listStatement and latestListStatement with column filters,
	// ORDER BY and LIMIT.
	listFrom string
	// counted counts the keys of a range up to a bound, within another statement.
	counted string
	// batches holds the statements of a batch of creates, by batch size.
	batches map[int]batchStatements
}

// batchStatements write n creates at once: the rows (a row that exists is left alone and
// counts as no affected row), their change-log rows, and each row's revision.
type batchStatements struct {
	insertRows, insertLog, setRevisions statement
}

// batchSizes are the only sizes a batch of creates takes, so that a table needs a few
// prepared statements per connection rather than one per possible size.
var batchSizes = []int{2, 4, 8, 16}

func newBatchStatements(t Table, n int) batchStatements {
	insertCols := insertColumns(t)
	row := "(?, 0" + strings.Repeat(", ?", len(insertCols)-2) + ")"
	return batchStatements{
		insertRows: statement{t.Name + "_insert_batch_" + strconv.Itoa(n), "INSERT INTO " + t.Name + " (" +
			strings.Join(insertCols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
			" ON DUPLICATE KEY UPDATE k = k"},
		insertLog: statement{"insert_log_batch_" + strconv.Itoa(n), "INSERT INTO " + logTable +
			" (k, created, deleted, prev_revision, value) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, 1, 0, 0, ?), ", n), ", ")},
		setRevisions: statement{t.Name + "_set_revision_batch_" + strconv.Itoa(n), "UPDATE " + t.Name +
			" SET revision = CASE k" + strings.Repeat(" WHEN ? THEN ?", n) + " END WHERE k IN (" + placeholders(n) + ")"},
	}
}

func newTableStatements(t Table) tableStatements {
	sets := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		sets = append(sets, c.Name+" = ?")
	}
	insertCols := insertColumns(t)
	updateSets := append([]string{"revision = ?", "expires_at = ?"}, sets...)
	batches := map[int]batchStatements{}
	for _, n := range batchSizes {
		batches[n] = newBatchStatements(t, n)
	}
	return tableStatements{
		batches: batches,
		insert: statement{t.Name + "_insert", "INSERT INTO " + t.Name + " (" + strings.Join(insertCols, ", ") +
			") VALUES (" + placeholders(len(insertCols)) + ")"},
		setRevision: statement{t.Name + "_set_revision", "UPDATE " + t.Name + " SET revision = ? WHERE k = ?"},
		update: statement{t.Name + "_update", "UPDATE " + t.Name + " SET " + strings.Join(updateSets, ", ") +
			" WHERE k = ? AND revision = ?"},
		delete: statement{t.Name + "_delete", "DELETE FROM " + t.Name + " WHERE k = ? AND revision = ?"},
		get: statement{t.Name + "_get", "SELECT r.revision, l.value FROM " + t.Name + " r JOIN " + logTable +
			" l ON l.id = r.revision WHERE r.k = ?"},
		// Counts at most its last argument's rows, so its cost is bounded (see maxCounted).
		count: statement{t.Name + "_count", "SELECT COUNT(*) FROM (SELECT 1 FROM " + t.Name +
			" WHERE k >= ? AND k < ? AND revision <= ? LIMIT ?) c"},
		counted: "(SELECT COUNT(*) FROM (SELECT 1 FROM " + t.Name + " WHERE k >= ? AND k < ? LIMIT ?) c)",
		// The stored size of the first rows of a range, bounded by its last argument.
		statsSample: statement{t.Name + "_stats_sample", "SELECT COUNT(*), COALESCE(SUM(LENGTH(l.value)), 0) FROM (SELECT revision FROM " +
			t.Name + " WHERE k >= ? AND k < ? LIMIT ?) r JOIN " + logTable + " l ON l.id = r.revision"},
		expired: statement{t.Name + "_expired", "SELECT k, revision FROM " + t.Name +
			" WHERE expires_at IS NOT NULL AND expires_at <= ? AND k >= ? AND k < ? ORDER BY expires_at LIMIT 100"},
		listFrom: " FROM " + t.Name + " r JOIN " + logTable + " l ON l.id = r.revision WHERE r.k >= ? AND r.k < ?",
	}
}

// listStatement returns the page query with an equality condition on each column: arguments
// the range's first and past-last key, the revision, the columns' values and the limit.
func (ts tableStatements) listStatement(table string, filters []Column) statement {
	return statement{table + "_list" + filterNames(filters),
		"SELECT r.k, r.revision, l.value" + ts.listFrom + " AND r.revision <= ?" + pageConditions(filters)}
}

// latestListStatement returns the page query that also reads, in the same statement and
// so in the same snapshot, the change log's newest revision and, when counting, how many
// keys the range holds up to a bound: arguments (when counting) the range's first and
// past-last key and the bound, then the range, the columns' values and the limit.
func (ts tableStatements) latestListStatement(table string, filters []Column, counting bool) statement {
	if counting {
		return statement{table + "_list_latest_counted" + filterNames(filters),
			"SELECT r.k, r.revision, l.value, (" + maxRevision + "), " + ts.counted + ts.listFrom + pageConditions(filters)}
	}
	return statement{table + "_list_latest" + filterNames(filters),
		"SELECT r.k, r.revision, l.value, (" + maxRevision + ")" + ts.listFrom + pageConditions(filters)}
}

// pageConditions ends a page query: an equality condition on each column, the order and
// the limit.
func pageConditions(filters []Column) string {
	var b strings.Builder
	for _, c := range filters {
		b.WriteString(" AND r.")
		b.WriteString(c.Name)
		b.WriteString(" = ?")
	}
	b.WriteString(" ORDER BY r.k LIMIT ?")
	return b.String()
}

// filterNames names the columns a page query filters on, for the statement's name.
func filterNames(filters []Column) string {
	if len(filters) == 0 {
		return ""
	}
	name := "_by"
	for _, c := range filters {
		name += "_" + c.Name
	}
	return name
}

// nextValueStatement reads the smallest value of c greater than its argument.
func nextValueStatement(t Table, c Column) statement {
	return statement{t.Name + "_next_" + c.Name,
		"SELECT " + c.Name + " FROM " + t.Name + " WHERE " + c.Name + " > ? ORDER BY " + c.Name + " LIMIT 1"}
}

// spanStatement reads the first and last key of a prefix whose c holds a value, from
// the (c, k) index: arguments the value, the prefix's first and past-last key.
func spanStatement(t Table, c Column) statement {
	return statement{t.Name + "_span_" + c.Name,
		"SELECT MIN(k), MAX(k) FROM " + t.Name + " WHERE " + c.Name + " = ? AND k >= ? AND k < ?"}
}

// rangeStatement reads, from the (c, k) index, the keys of a prefix whose c lies in a
// range: arguments from, to, the prefix's first and past-last key, and a limit.
func rangeStatement(t Table, c Column) statement {
	return statement{t.Name + "_range_" + c.Name,
		"SELECT k FROM " + t.Name + " WHERE " + c.Name + " >= ? AND " + c.Name + " < ? AND k >= ? AND k < ? ORDER BY " +
			c.Name + ", k LIMIT ?"}
}

// insertColumns are a resource row's columns in the order the insert statements name them.
func insertColumns(t Table) []string {
	cols := []string{"k", "revision", "expires_at"}
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	return cols
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// querier is what both *sql.DB, *sql.Conn and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dialect runs statements: it times and counts them, logs slow ones with a summary of
// their arguments (never the values, which may be secrets or large blobs) and maps
// driver errors onto the engine's sentinel errors.
type dialect struct {
	db   *sql.DB
	slow time.Duration
	// stmts caches prepared statements by text; database/sql prepares each one once
	// per connection and reuses it, which saves a round trip per call.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newDialect(db *sql.DB) *dialect {
	return &dialect{db: db, slow: time.Second, stmts: map[string]*sql.Stmt{}}
}

func (d *dialect) prepared(ctx context.Context, s statement) (*sql.Stmt, error) {
	d.mu.Lock()
	st, ok := d.stmts[s.text]
	d.mu.Unlock()
	if ok {
		return st, nil
	}
	// Prepared without holding mu: a prepare waits for the database, the background
	// loops' without a deadline, and a request needing any statement must not wait
	// behind it past its own deadline while the database hangs. Callers that race to
	// prepare the same text keep the first copy.
	st, err := d.db.PrepareContext(ctx, s.text)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if first, ok := d.stmts[s.text]; ok {
		_ = st.Close()
		return first, nil
	}
	d.stmts[s.text] = st
	return st, nil
}

func (d *dialect) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, st := range d.stmts {
		_ = st.Close()
	}
	d.stmts = map[string]*sql.Stmt{}
}

// stmtFor binds the prepared statement to tx when there is one.
func (d *dialect) stmtFor(ctx context.Context, tx *sql.Tx, s statement) (*sql.Stmt, error) {
	st, err := d.prepared(ctx, s)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return st, nil
}

func (d *dialect) exec(ctx context.Context, tx *sql.Tx, s statement, args ...any) (sql.Result, error) {
	start := time.Now()
	st, err := d.stmtFor(ctx, tx, s)
	var res sql.Result
	if err == nil {
		res, err = st.ExecContext(ctx, args...)
	}
	return res, d.done(s, start, err, args)
}

func (d *dialect) query(ctx context.Context, tx *sql.Tx, s statement, args ...any) (*sql.Rows, error) {
	start := time.Now()
	st, err := d.stmtFor(ctx, tx, s)
	var rows *sql.Rows
	if err == nil {
		rows, err = st.QueryContext(ctx, args...)
	}
	return rows, d.done(s, start, err, args)
}

// queryRow scans a single row into dest; sql.ErrNoRows is returned as is.
func (d *dialect) queryRow(ctx context.Context, tx *sql.Tx, s statement, args []any, dest ...any) error {
	start := time.Now()
	st, err := d.stmtFor(ctx, tx, s)
	if err == nil {
		err = st.QueryRowContext(ctx, args...).Scan(dest...)
	}
	if errors.Is(err, sql.ErrNoRows) {
		_ = d.done(s, start, nil, args)
		return err
	}
	return d.done(s, start, err, args)
}

// queryRowOn runs a statement on a dedicated connection (for GET_LOCK, which is per session).
func (d *dialect) queryRowOn(ctx context.Context, q querier, s statement, args []any, dest ...any) error {
	start := time.Now()
	err := q.QueryRowContext(ctx, s.text, args...).Scan(dest...)
	return d.done(s, start, err, args)
}

func (d *dialect) done(s statement, start time.Time, err error, args []any) error {
	elapsed := time.Since(start)
	statementDuration.WithLabelValues(s.name).Observe(elapsed.Seconds())
	err = translate(err)
	if err != nil {
		statementErrors.WithLabelValues(s.name, errorCode(err)).Inc()
		err = fmt.Errorf("%s: %w", s.name, err)
	}
	if elapsed > d.slow {
		klog.InfoS("Slow SQL statement", "statement", s.name, "duration", elapsed, "args", summarize(args))
	}
	return err
}

// summarize describes arguments without their contents.
func summarize(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case []byte:
			parts[i] = "bytes(" + strconv.Itoa(len(v)) + ")"
		case string:
			parts[i] = "string(" + strconv.Itoa(len(v)) + ")"
		case nil:
			parts[i] = "null"
		default:
			parts[i] = fmt.Sprintf("%T", v)
		}
	}
	return strings.Join(parts, ",")
}

// Sentinel errors the rest of the engine tests with errors.Is.
var (
	// errDuplicate is a unique key violation (MySQL 1062).
	errDuplicate = errors.New("duplicate key")
	// errRetry is a transaction the server aborted that is safe to run again:
	// deadlock (1213), lock wait timeout (1205), or a snapshot-isolation conflict (1020).
	errRetry = errors.New("transaction aborted by the server, retry")
)

type codedError struct {
	sentinel error
	cause    *mysql.MySQLError
}

func (e *codedError) Error() string { return e.cause.Error() }
func (e *codedError) Unwrap() []error {
	return []error{e.sentinel, e.cause}
}

func translate(err error) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1062:
			return &codedError{errDuplicate, me}
		case 1213, 1205, 1020:
			return &codedError{errRetry, me}
		}
	}
	return err
}

func errorCode(err error) string {
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me):
		return strconv.Itoa(int(me.Number))
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "other"
	}
}

// orderedListStatement reads a page in order of column c, then key: the rows after the
// cursor (c, k) and before the end of the range of c's values, within a key range, at
// or below a revision. The (c, k) index returns them in that order.
//
// The index is forced: when the order's range and the key range hold the same rows (a
// namespace's newest-first index, whose values start with the namespace), MariaDB chose
// the primary key and sorted the whole namespace (EXPLAIN at 1M runs: PRIMARY, 18,528
// rows, "Using filesort"; 30 ms a page where the index takes under 1 ms).
func orderedListStatement(t Table, c Column) statement {
	return statement{t.Name + "_list_ordered_by_" + c.Name,
		"SELECT r.k, r.revision, l.value, r." + c.Name + orderedListFrom(t, c)}
}

// orderedLatestStatement is orderedListStatement that also reads, in the same statement
// and so in the same snapshot, the change log's newest revision.
func orderedLatestStatement(t Table, c Column) statement {
	return statement{t.Name + "_list_latest_ordered_by_" + c.Name,
		"SELECT r.k, r.revision, l.value, r." + c.Name + ", (" + maxRevision + ")" + orderedListFrom(t, c)}
}

func orderedListFrom(t Table, c Column) string {
	return " FROM " + t.Name + " r FORCE INDEX (" + t.Name + "_" + c.Name + ") JOIN " + logTable +
		" l ON l.id = r.revision WHERE (r." + c.Name + " > ? OR (r." + c.Name + " = ? AND r.k > ?)) AND r." +
		c.Name + " < ? AND r.k >= ? AND r.k < ? AND r.revision <= ? ORDER BY r." + c.Name + ", r.k LIMIT ?"
}
